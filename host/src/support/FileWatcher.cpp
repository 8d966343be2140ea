#include "support/FileWatcher.h"

#include <Poco/Delegate.h>
#include <Poco/Logger.h>
#include <Poco/Path.h>

#include <sys/stat.h>

#include <algorithm>

#include <set>
#include <vector>

namespace identity::host
{

FileWatcher::FileWatcher(Callback callback, std::chrono::milliseconds debounce)
    : _callback(std::move(callback)), _debounce(debounce), _thread([this] { run(); })
{
}

FileWatcher::~FileWatcher()
{
    std::map<std::string, std::unique_ptr<Poco::DirectoryWatcher>> folders;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stopping = true;
        folders.swap(_folders);
    }
    folders.clear(); // joins their threads (outside the lock: they may be waiting for it in onEvent)
    _wake.notify_all();
    _thread.join();
}

FileWatcher::Signature FileWatcher::signatureOf(const std::string& path)
{
    Signature signature;
    struct stat info;
    if (::stat(path.c_str(), &info) != 0)
        return signature;
    signature.exists = true;
    signature.inode = info.st_ino;
    signature.size = info.st_size;
    signature.modifiedNs = static_cast<long long>(info.st_mtim.tv_sec) * 1000000000LL + info.st_mtim.tv_nsec;
    return signature;
}

void FileWatcher::watch(const std::map<std::string, std::string>& files)
{
    std::map<std::string, Watched> watched;
    std::set<std::string> folders;
    for (const auto& [key, file] : files)
    {
        const Poco::Path path = Poco::Path(file).absolute();
        Watched entry;
        entry.path = path.toString();
        entry.baseline = signatureOf(entry.path);
        watched.emplace(key, entry);
        folders.insert(path.parent().toString());
    }

    std::vector<std::unique_ptr<Poco::DirectoryWatcher>> unwatched; // destroyed after the lock is released
    std::lock_guard<std::mutex> lock(_mutex);
    if (_stopping)
        return;
    for (auto it = _folders.begin(); it != _folders.end();)
    {
        if (folders.count(it->first))
        {
            ++it;
            continue;
        }
        unwatched.push_back(std::move(it->second));
        it = _folders.erase(it);
    }
    for (const std::string& folder : folders)
    {
        if (_folders.count(folder))
            continue;
        try
        {
            auto watcher = std::make_unique<Poco::DirectoryWatcher>(folder);
            watcher->itemAdded += Poco::delegate(this, &FileWatcher::onEvent);
            watcher->itemModified += Poco::delegate(this, &FileWatcher::onEvent);
            watcher->itemMovedTo += Poco::delegate(this, &FileWatcher::onEvent);
            watcher->itemRemoved += Poco::delegate(this, &FileWatcher::onEvent);
            _folders.emplace(folder, std::move(watcher));
        }
        catch (const Poco::Exception& error)
        {
            Poco::Logger::get("identity.host").error("cannot watch %s: %s", folder, error.displayText());
        }
    }
    // Keep what was already seen of files that stay watched.
    const auto recheck = std::chrono::steady_clock::now() + std::max(_debounce, std::chrono::milliseconds(1000));
    bool anyNew = false;
    for (auto& [key, entry] : watched)
    {
        auto old = _files.find(key);
        if (old != _files.end() && old->second.path == entry.path)
            entry = old->second;
        else
        {
            // Poco arms its inotify watch on a thread of its own, a moment after it is made: a change in
            // between has no event. One check a second later compares with the baseline taken above.
            entry.pending = true;
            entry.due = recheck;
            anyNew = true;
        }
    }
    _files.swap(watched);
    if (anyNew)
        _wake.notify_all();
}

void FileWatcher::onEvent(const void*, const Poco::DirectoryWatcher::DirectoryEvent& event)
{
    const std::string path = Poco::Path(event.item.path()).absolute().toString();
    std::lock_guard<std::mutex> lock(_mutex);
    bool any = false;
    for (auto& entry : _files)
        if (entry.second.path == path)
        {
            entry.second.pending = true;
            entry.second.due = std::chrono::steady_clock::now() + _debounce;
            any = true;
        }
    if (any)
        _wake.notify_all();
}

void FileWatcher::run()
{
    std::unique_lock<std::mutex> lock(_mutex);
    while (!_stopping)
    {
        auto next = std::chrono::steady_clock::time_point::max();
        for (const auto& entry : _files)
            if (entry.second.pending)
                next = std::min(next, entry.second.due);
        if (next == std::chrono::steady_clock::time_point::max())
            _wake.wait(lock);
        else
            _wake.wait_until(lock, next);
        if (_stopping)
            break;

        const auto now = std::chrono::steady_clock::now();
        std::vector<std::string> changed;
        for (auto& [key, entry] : _files)
        {
            if (!entry.pending || entry.due > now)
                continue;
            entry.pending = false;
            const Signature signature = signatureOf(entry.path);
            // A file that is gone is half-way through a replacement: its arrival is another event.
            if (!signature.exists || signature == entry.baseline)
                continue;
            entry.baseline = signature;
            changed.push_back(key);
        }
        lock.unlock();
        for (const std::string& key : changed)
        {
            try
            {
                _callback(key);
            }
            catch (const std::exception& error)
            {
                Poco::Logger::get("identity.host").error("reacting to a change of %s failed: %s", key,
                                                         std::string(error.what()));
            }
        }
        lock.lock();
    }
}

} // namespace identity::host

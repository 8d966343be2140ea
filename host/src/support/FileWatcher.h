#pragma once

#include <Poco/DirectoryWatcher.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <sys/types.h>

namespace identity::host
{

/// Watches a few files and reports each change once the file has been quiet for a while.
///
/// A build lands either by atomic rename (one move event) or by a linker writing in place (a removal,
/// an addition and dozens of modifications): both end in one callback, `debounce` after the last
/// event, and only when the file's identity (inode, size, modification time) really changed. Events
/// come from Poco's DirectoryWatcher (inotify) on each file's folder.
class FileWatcher
{
public:
    /// Called on the watcher's thread with the key of the file that changed.
    using Callback = std::function<void(const std::string& key)>;

    FileWatcher(Callback callback, std::chrono::milliseconds debounce);
    ~FileWatcher();

    FileWatcher(const FileWatcher&) = delete;
    FileWatcher& operator=(const FileWatcher&) = delete;

    /// Replaces the watched files (key -> path). A file's present state is the baseline: only later
    /// changes are reported.
    void watch(const std::map<std::string, std::string>& files);

private:
    struct Signature
    {
        bool exists = false;
        ino_t inode = 0;
        off_t size = 0;
        long long modifiedNs = 0;
        bool operator==(const Signature& other) const
        {
            return exists == other.exists && inode == other.inode && size == other.size &&
                   modifiedNs == other.modifiedNs;
        }
    };

    struct Watched
    {
        std::string path;
        Signature baseline;
        bool pending = false;
        std::chrono::steady_clock::time_point due;
    };

    static Signature signatureOf(const std::string& path);
    void onEvent(const void*, const Poco::DirectoryWatcher::DirectoryEvent& event);
    void run();

    Callback _callback;
    std::chrono::milliseconds _debounce;
    std::mutex _mutex;
    std::condition_variable _wake;
    bool _stopping = false;
    std::map<std::string, Watched> _files; // by key
    std::map<std::string, std::unique_ptr<Poco::DirectoryWatcher>> _folders; // by absolute folder
    std::thread _thread;
};

} // namespace identity::host

#include "plugins/PluginManager.h"

#include "app/ConfigurationValues.h"

#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>
#include <Poco/Path.h>
#include <Poco/Util/JSONConfiguration.h>
#include <Poco/Util/LayeredConfiguration.h>

#include <algorithm>
#include <chrono>
#include <sstream>

namespace identity::host
{

namespace
{
Poco::Logger& logger() { return Poco::Logger::get("identity.plugins"); }

/// Generations of one plugin that may still be finishing requests when a new one starts: each keeps
/// its threads and connections, so a storm of reloads must wait for the old ones to go.
constexpr std::size_t maxRetiring = 2;
constexpr auto retirementWait = std::chrono::seconds(10);

} // namespace

std::vector<PluginSpec> PluginSpec::fromConfiguration(Poco::Util::AbstractConfiguration& config)
{
    std::vector<PluginSpec> specs;
    Poco::Util::AbstractConfiguration::Keys names;
    config.keys("plugins", names);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names)
    {
        const std::string prefix = "plugins." + name;
        PluginSpec spec;
        spec.name = name;
        spec.manifestPath = config.getString(prefix + ".manifest", "");
        spec.enabled = config.getBool(prefix + ".enabled", true);
        spec.config = config.createView(prefix + ".config");
        spec.fingerprint = "manifest=" + spec.manifestPath + "\n";
        for (const auto& [key, value] : configurationValues(config, prefix + ".config"))
            spec.fingerprint += key + "=" + value + "\n";
        specs.push_back(std::move(spec));
    }
    return specs;
}

PluginManager::PluginManager(PluginServices& services, PluginLoader& loader, Publisher publisher,
                             std::string privateFolder)
    : _services(services), _loader(loader), _publisher(std::move(publisher)), _privateFolder(std::move(privateFolder)),
      _reaper([this] { reap(); })
{
}

PluginManager::~PluginManager()
{
    unloadAll();
    {
        std::lock_guard<std::mutex> lock(_retiringMutex);
        _stopping = true;
        _retired.notify_all();
    }
    _reaper.join();
}

void PluginManager::apply(const std::vector<PluginSpec>& specs)
{
    for (const PluginSpec& spec : specs)
        awaitRetirement(spec.name);
    std::lock_guard<std::mutex> operation(_operation);
    // A plugin may use notifiers of one started after it (by name order): one that failed to start
    // is tried once more when another started after it.
    std::vector<std::pair<std::string, int>> failed; // name, plugins started before its failure
    int started = 0;
    for (auto it = _slots.begin(); it != _slots.end();)
    {
        const bool kept = std::any_of(specs.begin(), specs.end(), [&](const PluginSpec& s) { return s.name == it->first; });
        if (kept)
        {
            ++it;
            continue;
        }
        stopSlot(it->second);
        std::lock_guard<std::mutex> state(_state);
        it = _slots.erase(it);
    }
    for (const PluginSpec& spec : specs)
    {
        auto found = _slots.find(spec.name);
        if (found == _slots.end())
        {
            Slot slot;
            slot.spec = spec;
            slot.spec.enabled = false; // not started yet
            slot.status.name = spec.name;
            slot.status.state = "disabled";
            std::lock_guard<std::mutex> state(_state);
            found = _slots.emplace(spec.name, std::move(slot)).first;
        }
        else if (found->second.spec.fingerprint == spec.fingerprint && found->second.spec.enabled == spec.enabled)
            continue; // unchanged: a failed plugin is tried again when its configuration changes, or on reload
        Slot& slot = found->second;
        if (!spec.enabled)
        {
            {
                std::lock_guard<std::mutex> state(_state);
                slot.spec = spec;
            }
            stopSlot(slot);
            continue;
        }
        const PluginSpec previous = slot.spec;
        {
            std::lock_guard<std::mutex> state(_state);
            slot.spec = spec;
        }
        if (startGeneration(slot))
            ++started;
        else if (slot.serving)
        {
            // The old build goes on serving with the configuration it was started with.
            std::lock_guard<std::mutex> state(_state);
            slot.spec = previous;
        }
        else
            failed.emplace_back(spec.name, started);
    }
    for (const auto& [name, startedBefore] : failed)
        if (started > startedBefore)
        {
            auto slot = _slots.find(name);
            if (slot != _slots.end() && !slot->second.serving && startGeneration(slot->second))
                logger().information("plugin '%s' started on a second try, after the plugins it needs", name);
        }
    // Once more, under the same lock as every other publication: the admin routes follow the slots.
    publishLocked();
}

bool PluginManager::reload(const std::string& name)
{
    awaitRetirement(name);
    std::lock_guard<std::mutex> operation(_operation);
    auto found = _slots.find(name);
    if (found == _slots.end() || !found->second.spec.enabled)
        throw Poco::NotFoundException("no enabled plugin named '" + name + "'");
    return startGeneration(found->second);
}

std::vector<std::shared_ptr<PluginGeneration>>
PluginManager::servingLocked(const Slot* replaced, const std::shared_ptr<PluginGeneration>& by) const
{
    std::vector<std::shared_ptr<PluginGeneration>> result;
    for (const auto& entry : _slots)
    {
        const auto& generation = &entry.second == replaced ? by : entry.second.serving;
        if (generation)
            result.push_back(generation);
    }
    return result;
}

bool PluginManager::startGeneration(Slot& slot)
{
    const std::string& name = slot.spec.name;
    PluginStatus attempt = slot.status;
    attempt.lastError.clear();
    std::shared_ptr<PluginGeneration> generation;
    try
    {
        if (slot.spec.manifestPath.empty())
            throw Poco::InvalidArgumentException("plugins." + name + ".manifest is not set");
        if (retiringCount(name) >= maxRetiring) // waited for outside the lock (see reload, apply)
            throw Poco::TimeoutException("earlier generations of plugin '" + name +
                                         "' are still finishing their requests; try again later");
        const PluginManifest manifest = PluginManifest::load(slot.spec.manifestPath);
        attempt.version = manifest.version;
        attempt.sdkVersion = std::to_string(manifest.sdkMajor) + "." + std::to_string(manifest.sdkMinor);
        attempt.library = manifest.libraryPath;
        if (manifest.name != name)
            throw Poco::DataException("manifest " + slot.spec.manifestPath + " is for plugin '" + manifest.name +
                                      "', configured as '" + name + "'");

        // The operator's settings over the manifest's defaults.
        Poco::AutoPtr<Poco::Util::JSONConfiguration> defaults(new Poco::Util::JSONConfiguration);
        std::ostringstream json;
        manifest.defaultConfig->stringify(json);
        std::istringstream in(json.str());
        defaults->load(in);
        Poco::AutoPtr<Poco::Util::LayeredConfiguration> layered(new Poco::Util::LayeredConfiguration);
        layered->add(slot.spec.config, 0);
        layered->add(defaults, 100);

        auto context =
            std::make_unique<HostPluginContext>(name, Poco::Util::AbstractConfiguration::Ptr(layered), _services);
        const std::string copy = Poco::Path(_privateFolder)
                                     .append(std::to_string(++_copies) + "-" + Poco::Path(manifest.libraryPath).getFileName())
                                     .toString();
        if (_services.migrate)
            _services.migrate(manifest);
        generation = PluginGeneration::start(manifest, _loader, std::move(context), copy, _loads[name] + 1);
        _publisher(servingLocked(&slot, generation));
    }
    catch (const Poco::Exception& error)
    {
        attempt.lastError = error.displayText();
    }
    catch (const std::exception& error)
    {
        attempt.lastError = error.what();
    }
    if (!attempt.lastError.empty())
    {
        const std::string why = attempt.lastError;
        generation.reset(); // stops and unloads the failed build now, before the old one is touched
        {
            std::lock_guard<std::mutex> state(_state);
            if (!slot.serving)
                attempt.state = "failed";
            slot.status = attempt;
        }
        if (slot.serving)
            logger().error("plugin '%s': the new build was not loaded, generation %u keeps serving: %s", name,
                           slot.serving->number(), why);
        else
            logger().error("plugin '%s' not loaded: %s", name, why);
        return false;
    }

    std::shared_ptr<PluginGeneration> old;
    {
        std::lock_guard<std::mutex> state(_state);
        _loads[name] = generation->number();
        attempt.state = "running";
        attempt.generation = generation->number();
        attempt.loadedAt = generation->loadedAt();
        attempt.routes.clear();
        for (const auto& route : generation->context().routes())
            attempt.routes.push_back(route.method + " " + route.path);
        slot.status = attempt;
        old = std::move(slot.serving);
        slot.serving = generation;
    }
    logger().information("plugin '%s' %s started as generation %u (%s)", name, generation->manifest().version,
                         generation->number(), generation->manifest().libraryPath);
    if (old)
    {
        retire(std::move(old));
        restartUsersOf(name);
    }
    return true;
}

void PluginManager::restartUsersOf(const std::string& provider)
{
    // The users hold notifiers of the old build (and so keep it loaded); their new generations take
    // the new build's, and the old one unloads when the last of them is retired.
    if (!_restarting.insert(provider).second)
        return; // a cycle of plugins using each other's notifiers: each restarts once
    for (auto& [name, slot] : _slots)
        if (name != provider && slot.serving && slot.serving->context().providersUsed().count(provider))
        {
            logger().information("plugin '%s' restarts: it uses notifiers of '%s', which was reloaded", name, provider);
            startGeneration(slot);
        }
    _restarting.erase(provider);
}

void PluginManager::stopSlot(Slot& slot)
{
    std::shared_ptr<PluginGeneration> old;
    {
        std::lock_guard<std::mutex> state(_state);
        old = std::move(slot.serving);
        slot.status.state = "disabled";
        slot.status.routes.clear();
    }
    if (!old)
        return;
    publishLocked();
    logger().information("plugin '%s' stopped (generation %u)", slot.spec.name, old->number());
    retire(std::move(old));
}

void PluginManager::publishLocked()
{
    std::vector<std::shared_ptr<PluginGeneration>> serving;
    {
        std::lock_guard<std::mutex> state(_state);
        serving = servingLocked(nullptr, nullptr);
    }
    // Removing generations cannot conflict.
    _publisher(serving);
}

void PluginManager::retire(std::shared_ptr<PluginGeneration> generation)
{
    std::lock_guard<std::mutex> lock(_retiringMutex);
    _retiring.push_back(std::move(generation));
    _retired.notify_all();
}

std::size_t PluginManager::retiringCountLocked(const std::string& name) const
{
    return static_cast<std::size_t>(std::count_if(_retiring.begin(), _retiring.end(),
                                                  [&](const auto& retired) { return retired->manifest().name == name; }));
}

std::size_t PluginManager::retiringCount(const std::string& name)
{
    std::lock_guard<std::mutex> lock(_retiringMutex);
    return retiringCountLocked(name);
}

void PluginManager::awaitRetirement(const std::string& name)
{
    // Never called with _operation held: what keeps old generations alive may be waiting for it.
    std::unique_lock<std::mutex> lock(_retiringMutex);
    _reaped.wait_for(lock, retirementWait, [&] { return retiringCountLocked(name) < maxRetiring; });
}

void PluginManager::reap()
{
    // Requests already inside a retired generation hold it through the route table they started with.
    // It is stopped and unloaded here, off the request threads, once the last of them is done.
    std::unique_lock<std::mutex> lock(_retiringMutex);
    auto interval = std::chrono::milliseconds(2);
    while (!_stopping)
    {
        if (_retiring.empty())
        {
            _retired.wait(lock);
            interval = std::chrono::milliseconds(2);
            continue;
        }
        std::vector<std::shared_ptr<PluginGeneration>> done;
        for (auto it = _retiring.begin(); it != _retiring.end();)
        {
            if (it->use_count() == 1)
            {
                done.push_back(std::move(*it));
                it = _retiring.erase(it);
            }
            else
                ++it;
        }
        if (!done.empty())
        {
            lock.unlock();
            for (auto& generation : done)
            {
                const std::string name = generation->manifest().name;
                const unsigned number = generation->number();
                generation.reset();
                logger().information("plugin '%s': generation %u unloaded", name, number);
            }
            lock.lock();
            _reaped.notify_all();
            interval = std::chrono::milliseconds(2);
        }
        else
        {
            // No signal comes when a request lets go: look again soon, then less often (a generation
            // can stay pinned for long, by a notifier another plugin still uses).
            _retired.wait_for(lock, interval);
            interval = std::min(interval * 2, std::chrono::milliseconds(100));
        }
    }
}

std::vector<std::shared_ptr<PluginGeneration>> PluginManager::generations() const
{
    std::lock_guard<std::mutex> state(_state);
    return servingLocked(nullptr, nullptr);
}

std::vector<PluginStatus> PluginManager::status() const
{
    std::lock_guard<std::mutex> state(_state);
    std::vector<PluginStatus> result;
    for (const auto& entry : _slots)
        result.push_back(entry.second.status);
    return result;
}

std::map<std::string, std::string> PluginManager::libraries() const
{
    std::lock_guard<std::mutex> state(_state);
    std::map<std::string, std::string> result;
    for (const auto& entry : _slots)
        if (entry.second.spec.enabled && !entry.second.status.library.empty())
            result.emplace(entry.first, entry.second.status.library);
    return result;
}

void PluginManager::unloadAll()
{
    std::lock_guard<std::mutex> operation(_operation);
    std::vector<std::shared_ptr<PluginGeneration>> serving;
    {
        std::lock_guard<std::mutex> state(_state);
        for (auto& entry : _slots)
            if (entry.second.serving)
            {
                serving.push_back(std::move(entry.second.serving));
                entry.second.status.state = "disabled";
            }
    }
    while (!serving.empty())
        serving.pop_back();
    // Called once nothing serves any more: what is still retiring is held by no request.
    std::vector<std::shared_ptr<PluginGeneration>> retiring;
    {
        std::lock_guard<std::mutex> lock(_retiringMutex);
        retiring.swap(_retiring);
    }
    while (!retiring.empty())
        retiring.pop_back();
}

} // namespace identity::host

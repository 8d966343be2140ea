#pragma once

#include "plugins/PluginGeneration.h"

#include <Poco/Util/AbstractConfiguration.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace identity::host
{

/// One plugin as the configuration asks for it (`plugins.<name>`).
struct PluginSpec
{
    std::string name;
    std::string manifestPath;
    bool enabled = true;
    Poco::AutoPtr<Poco::Util::AbstractConfiguration> config; ///< `plugins.<name>.config`
    /// The manifest path and every configuration value: when it changes, the plugin restarts.
    std::string fingerprint;

    /// The plugins of a configuration, in the order of their names.
    static std::vector<PluginSpec> fromConfiguration(Poco::Util::AbstractConfiguration& config);
};

/// What `GET /admin/plugins` reports of one plugin.
struct PluginStatus
{
    std::string name;
    std::string version;
    std::string sdkVersion;
    std::string state;          ///< "running", "failed" or "disabled"
    unsigned generation = 0;    ///< of the build serving (0: none has run yet)
    std::string library;        ///< the library file the manifest names
    Poco::Timestamp loadedAt;   ///< when the serving build started
    std::vector<std::string> routes; ///< "METHOD /path" of the serving build
    std::string lastError;      ///< why the last load failed (empty when it did not)
};

/// Keeps one serving generation per enabled plugin and replaces it: on a reload (a new build, a changed
/// configuration, an operator's request) it starts the new generation beside the old one, publishes it
/// (swapping the route table atomically), and only then retires the old one, which finishes the
/// requests already inside it before it stops and unloads. A generation that fails to load, to start
/// or to publish is destroyed and reported, and the one before it keeps serving.
///
/// Thread-safe: loads, reloads and reconfigurations are serialized; status can be read at any time.
class PluginManager
{
public:
    /// Publishes the given generations (all that should serve) with the host's own routes; throws
    /// Poco::Exception when they conflict, in which case nothing changed.
    using Publisher = std::function<void(const std::vector<std::shared_ptr<PluginGeneration>>&)>;

    /// `privateFolder` receives the private copies of the libraries (each removed once loaded).
    PluginManager(PluginServices& services, PluginLoader& loader, Publisher publisher, std::string privateFolder);
    ~PluginManager();

    /// Brings the plugins in line with `specs`: starts new and newly enabled ones, restarts those whose
    /// fingerprint changed, stops disabled and removed ones.
    void apply(const std::vector<PluginSpec>& specs);

    /// Loads the plugin's library again as a new generation. False when it failed (the old generation,
    /// if any, keeps serving; `status()` says why). Throws Poco::NotFoundException for an unknown name.
    bool reload(const std::string& name);

    /// The generations serving now.
    std::vector<std::shared_ptr<PluginGeneration>> generations() const;

    std::vector<PluginStatus> status() const;

    /// The library file of each enabled plugin, by name (what development mode watches).
    std::map<std::string, std::string> libraries() const;

    /// Stops serving every plugin (each unloads once no request uses it).
    void unloadAll();

private:
    struct Slot
    {
        PluginSpec spec;
        std::shared_ptr<PluginGeneration> serving;
        PluginStatus status;
    };

    /// Starts a new generation for the slot and swaps it in; false (and the slot's last error set) on
    /// failure. When it replaced a generation, the plugins using that one's notifiers restart too.
    bool startGeneration(Slot& slot);
    void restartUsersOf(const std::string& provider);
    void stopSlot(Slot& slot);
    void publishLocked();
    void retire(std::shared_ptr<PluginGeneration> generation);
    void reap();
    /// Waits (bounded) until fewer than maxRetiring generations of the plugin are still finishing
    /// requests. Called before taking _operation; startGeneration then refuses if they are still there.
    void awaitRetirement(const std::string& name);
    std::size_t retiringCount(const std::string& name);
    std::size_t retiringCountLocked(const std::string& name) const;
    std::vector<std::shared_ptr<PluginGeneration>> servingLocked(const Slot* replaced,
                                                                 const std::shared_ptr<PluginGeneration>& by) const;

    PluginServices& _services;
    PluginLoader& _loader;
    Publisher _publisher;
    std::string _privateFolder;
    unsigned _copies = 0;                    // private copies made, for unique file names
    std::map<std::string, unsigned> _loads;  // generations started, by plugin name
    std::set<std::string> _restarting;       // providers whose users are being restarted (cycles)

    // Generations no longer published, destroyed by the reaper once no request holds them.
    std::mutex _retiringMutex;
    std::condition_variable _retired; // something to reap
    std::condition_variable _reaped;  // something was reaped
    bool _stopping = false;
    std::vector<std::shared_ptr<PluginGeneration>> _retiring;
    std::thread _reaper;

    std::mutex _operation; // one load, reload or reconfiguration at a time
    mutable std::mutex _state;
    std::map<std::string, Slot> _slots;
};

} // namespace identity::host

#pragma once

#include "plugins/PluginGeneration.h"

#include <Poco/Util/AbstractConfiguration.h>

#include <memory>
#include <string>
#include <vector>

namespace identity::host
{

struct PluginStatus
{
    std::string name;
    std::string version;
    std::string state; ///< "running" or "failed"
    std::string error; ///< why it failed (for the operator)
};

/// Loads the plugins the configuration enables (`plugins.<name>.manifest`, `.enabled`, `.config`) and
/// keeps their generations. A plugin that cannot be loaded or started is reported and skipped; the
/// host serves everything else.
class PluginManager
{
public:
    PluginManager(PluginServices& services, PluginLoader& loader);
    ~PluginManager();

    void loadAll(Poco::Util::AbstractConfiguration& config);

    /// Loads one plugin; false (and a failed status) when it could not be loaded or started.
    bool load(const std::string& name, const std::string& manifestPath,
              Poco::AutoPtr<Poco::Util::AbstractConfiguration> pluginConfig);

    /// Marks a loaded plugin failed (its routes conflicted, say) and drops it.
    void reject(const std::shared_ptr<PluginGeneration>& generation, const std::string& why);

    const std::vector<std::shared_ptr<PluginGeneration>>& generations() const { return _generations; }
    std::vector<PluginStatus> status() const { return _status; }

    /// Drops every generation this manager holds (they unload once no request uses them).
    void unloadAll();

private:
    PluginServices& _services;
    PluginLoader& _loader;
    std::vector<std::shared_ptr<PluginGeneration>> _generations;
    std::vector<PluginStatus> _status;
};

} // namespace identity::host

#include "plugins/PluginManager.h"

#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>
#include <Poco/Util/JSONConfiguration.h>
#include <Poco/Util/LayeredConfiguration.h>

#include <algorithm>
#include <sstream>

namespace identity::host
{

PluginManager::PluginManager(PluginServices& services, PluginLoader& loader) : _services(services), _loader(loader) {}

PluginManager::~PluginManager() { unloadAll(); }

void PluginManager::loadAll(Poco::Util::AbstractConfiguration& config)
{
    Poco::Util::AbstractConfiguration::Keys names;
    config.keys("plugins", names);
    for (const std::string& name : names)
    {
        const std::string prefix = "plugins." + name;
        if (!config.getBool(prefix + ".enabled", true))
            continue;
        load(name, config.getString(prefix + ".manifest", ""),
             config.createView(prefix + ".config"));
    }
}

bool PluginManager::load(const std::string& name, const std::string& manifestPath,
                         Poco::AutoPtr<Poco::Util::AbstractConfiguration> pluginConfig)
{
    auto& logger = Poco::Logger::get("identity.plugins");
    PluginStatus status{name, "", "failed", ""};
    try
    {
        if (manifestPath.empty())
            throw Poco::InvalidArgumentException("plugins." + name + ".manifest is not set");
        const PluginManifest manifest = PluginManifest::load(manifestPath);
        status.version = manifest.version;
        if (manifest.name != name)
            throw Poco::DataException("manifest " + manifestPath + " is for plugin '" + manifest.name +
                                      "', configured as '" + name + "'");

        // The operator's settings over the manifest's defaults.
        Poco::AutoPtr<Poco::Util::JSONConfiguration> defaults(new Poco::Util::JSONConfiguration);
        std::ostringstream json;
        manifest.defaultConfig->stringify(json);
        std::istringstream in(json.str());
        defaults->load(in);
        Poco::AutoPtr<Poco::Util::LayeredConfiguration> layered(new Poco::Util::LayeredConfiguration);
        layered->add(pluginConfig, 0);
        layered->add(defaults, 100);

        auto context = std::make_unique<HostPluginContext>(
            name, Poco::Util::AbstractConfiguration::Ptr(layered), _services);
        _generations.push_back(PluginGeneration::start(manifest, _loader, std::move(context)));
        status.state = "running";
        _status.push_back(status);
        logger.information("plugin '%s' %s started (%s)", name, manifest.version, manifest.libraryPath);
        return true;
    }
    catch (const Poco::Exception& error)
    {
        status.error = error.displayText();
    }
    catch (const std::exception& error)
    {
        status.error = error.what();
    }
    _status.push_back(status);
    logger.error("plugin '%s' not loaded: %s", name, status.error);
    return false;
}

void PluginManager::reject(const std::shared_ptr<PluginGeneration>& generation, const std::string& why)
{
    const std::string name = generation->manifest().name;
    for (auto& status : _status)
        if (status.name == name && status.state == "running")
        {
            status.state = "failed";
            status.error = why;
        }
    _generations.erase(std::remove(_generations.begin(), _generations.end(), generation), _generations.end());
    Poco::Logger::get("identity.plugins").error("plugin '%s' not loaded: %s", name, why);
}

void PluginManager::unloadAll()
{
    while (!_generations.empty())
        _generations.pop_back();
}

} // namespace identity::host

#pragma once

#include "plugins/HostPluginContext.h"
#include "plugins/PluginManifest.h"

#include "identity/sdk/Plugin.h"

#include <Poco/ClassLoader.h>

#include <memory>

namespace identity::host
{

using PluginLoader = Poco::ClassLoader<sdk::Plugin>;

/// One loaded build of a plugin: its library, its object and its context. Requests and services hold
/// it by shared_ptr; when the last holder lets go, it stops the plugin, drops what the plugin
/// registered, destroys the object and unloads the library, in that order.
class PluginGeneration
{
public:
    /// Checks the SDK version (manifest, then the library's own `identityPluginSdkVersion`), loads the
    /// library, creates the plugin and starts it. Throws Poco::Exception with a message for the
    /// operator; whatever was done is undone first.
    static std::shared_ptr<PluginGeneration> start(const PluginManifest& manifest, PluginLoader& loader,
                                                   std::unique_ptr<HostPluginContext> context);

    ~PluginGeneration();

    PluginGeneration(const PluginGeneration&) = delete;
    PluginGeneration& operator=(const PluginGeneration&) = delete;

    const PluginManifest& manifest() const { return _manifest; }
    HostPluginContext& context() { return *_context; }

private:
    PluginGeneration(const PluginManifest& manifest, PluginLoader& loader, std::unique_ptr<HostPluginContext> context);

    void checkLibraryVersion() const;

    PluginManifest _manifest;
    PluginLoader& _loader;
    std::unique_ptr<HostPluginContext> _context;
    sdk::Plugin* _plugin = nullptr;
    bool _loaded = false;
};

} // namespace identity::host

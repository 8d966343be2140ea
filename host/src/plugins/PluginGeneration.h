#pragma once

#include "plugins/HostPluginContext.h"
#include "plugins/PluginManifest.h"

#include "identity/sdk/Plugin.h"

#include <Poco/ClassLoader.h>
#include <Poco/Timestamp.h>

#include <memory>

namespace identity::host
{

using PluginLoader = Poco::ClassLoader<sdk::Plugin>;

/// One loaded build of a plugin: its library (a private copy), its object and its context. Requests and
/// services hold it by shared_ptr; when the last holder lets go, it stops the plugin, drops what the
/// plugin registered, destroys the object and unloads the library, in that order. Plugin code is
/// untrusted: whatever it throws, from `start`, `stop` or its destructor, is caught here.
class PluginGeneration
{
public:
    /// Copies the library to `privateCopy` (so that a later build at the same path is a new image, and
    /// the linker or an installer can replace the file while this one runs), checks the SDK version
    /// (manifest, then the library's own `identityPluginSdkVersion`), resolves every symbol, loads it,
    /// creates the plugin and starts it. Throws Poco::Exception with a message for the operator;
    /// whatever was done is undone first.
    static std::shared_ptr<PluginGeneration> start(const PluginManifest& manifest, PluginLoader& loader,
                                                   std::unique_ptr<HostPluginContext> context,
                                                   const std::string& privateCopy, unsigned number);

    ~PluginGeneration();

    PluginGeneration(const PluginGeneration&) = delete;
    PluginGeneration& operator=(const PluginGeneration&) = delete;

    const PluginManifest& manifest() const { return _manifest; }
    HostPluginContext& context() { return *_context; }
    const HostPluginContext& context() const { return *_context; }

    /// 1 for the first load of this plugin in this process, one more for each later load.
    unsigned number() const { return _number; }
    const Poco::Timestamp& loadedAt() const { return _loadedAt; }
    /// The path the library was loaded from (the private copy; the file itself is already removed).
    const std::string& loadedFrom() const { return _loadedFrom; }

private:
    struct PluginDeleter
    {
        std::string name;
        void operator()(sdk::Plugin* plugin) const;
    };

    PluginGeneration(const PluginManifest& manifest, PluginLoader& loader, std::unique_ptr<HostPluginContext> context,
                     std::string loadedFrom, unsigned number);

    void load();
    void stopPlugin() noexcept;

    PluginManifest _manifest;
    PluginLoader& _loader;
    std::unique_ptr<HostPluginContext> _context;
    std::string _loadedFrom;
    unsigned _number;
    Poco::Timestamp _loadedAt;
    bool _loaded = false;
    // Declared last: destroyed first, before the context it may still use and long before the unload.
    std::unique_ptr<sdk::Plugin, PluginDeleter> _plugin;
};

} // namespace identity::host

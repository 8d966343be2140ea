#pragma once

#include "identity/sdk/Export.h"
#include "identity/sdk/PluginContext.h"
#include "identity/sdk/Version.h"

#include <Poco/ClassLibrary.h>

namespace identity::sdk
{

/// The one class a plugin library exports (see IDENTITY_PLUGIN).
///
/// Lifecycle: the host loads the library, checks its SDK version, creates the plugin, calls
/// `start(context)`, serves requests through the routes it added (concurrently, from many threads),
/// calls `stop()`, destroys it and unloads the library. `stop()` must undo everything `start()` did
/// that the host does not own: join threads, close connections. A plugin that throws from `start()` is
/// destroyed and unloaded, and the host keeps serving without it.
class IDENTITY_SDK_API Plugin
{
public:
    virtual ~Plugin();

    /// Reads configuration, adds routes and services. The context stays valid until `stop()` returns.
    virtual void start(PluginContext& context) = 0;

    /// Also called after `start()` threw, so it must cope with a partial start.
    virtual void stop() = 0;
};

} // namespace identity::sdk

/// Exports `PluginClass` from a plugin library: the Poco::ClassLoader manifest and the SDK version
/// handshake. Use it once, at namespace scope, in the plugin's source file; the class must be named
/// without qualification, as in the manifest's "class" field.
#define IDENTITY_PLUGIN(PluginClass)                                                                       \
    POCO_BEGIN_MANIFEST(identity::sdk::Plugin)                                                             \
    POCO_EXPORT_CLASS(PluginClass)                                                                         \
    POCO_END_MANIFEST                                                                                      \
    extern "C" __attribute__((visibility("default"))) unsigned identityPluginSdkVersion()                  \
    {                                                                                                      \
        return IDENTITY_SDK_VERSION;                                                                       \
    }

// A plugin built against the next SDK major version whose manifest claims this one: the host must
// trust the library's own handshake, not the manifest, and refuse it.
#include "identity/sdk/Plugin.h"

class FutureSdkPlugin : public identity::sdk::Plugin
{
public:
    void start(identity::sdk::PluginContext& context) override
    {
        context.addRoute({"GET", "/future/hello", identity::sdk::Route::Auth::None,
                          [](const identity::sdk::Request&, identity::sdk::Response&) {}});
    }

    void stop() override {}
};

POCO_BEGIN_MANIFEST(identity::sdk::Plugin)
POCO_EXPORT_CLASS(FutureSdkPlugin)
POCO_END_MANIFEST

extern "C" __attribute__((visibility("default"))) unsigned identityPluginSdkVersion()
{
    return (IDENTITY_SDK_VERSION_MAJOR + 1u) << 16; // the next major version
}

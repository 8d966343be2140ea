// A plugin that adds a route and then fails to start: the host must unload it, serve none of what it
// added, and keep serving everything else.
#include "identity/sdk/Plugin.h"

#include <stdexcept>

class ThrowingPlugin : public identity::sdk::Plugin
{
public:
    void start(identity::sdk::PluginContext& context) override
    {
        context.addRoute({"GET", "/throwing/hello", identity::sdk::Route::Auth::None,
                          [](const identity::sdk::Request&, identity::sdk::Response&) {}});
        throw std::runtime_error("this plugin always fails to start");
    }

    void stop() override {}
};

IDENTITY_PLUGIN(ThrowingPlugin)

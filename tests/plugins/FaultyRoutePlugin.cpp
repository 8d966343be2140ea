// A plugin whose routes fail the way bugs do: the host must answer 500 in the CloudBase envelope with
// no detail, log the detail, and keep the connection and the server healthy.
#include "identity/sdk/Plugin.h"

#include <stdexcept>

class FaultyRoutePlugin : public identity::sdk::Plugin
{
public:
    void start(identity::sdk::PluginContext& context) override
    {
        using identity::sdk::Request;
        using identity::sdk::Response;
        context.addRoute({"GET", "/faulty/std", identity::sdk::Route::Auth::None,
                          [](const Request&, Response&) { throw std::logic_error("internal detail 7f3a"); }});
        context.addRoute({"GET", "/faulty/other", identity::sdk::Route::Auth::None,
                          [](const Request&, Response&) { throw 42; }});
    }

    void stop() override {}
};

IDENTITY_PLUGIN(FaultyRoutePlugin)

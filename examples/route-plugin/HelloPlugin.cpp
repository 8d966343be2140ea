// A route plugin: GET /hello/v1/greeting?name=Ada for anyone, GET /hello/v1/me for signed-in users.
#include "identity/sdk/ApiError.h"
#include "identity/sdk/Plugin.h"

#include <string>

using identity::sdk::ApiError;
using identity::sdk::PluginContext;
using identity::sdk::Request;
using identity::sdk::Response;
using identity::sdk::Route;

class HelloPlugin : public identity::sdk::Plugin
{
public:
    void start(PluginContext& context) override
    {
        const std::string greeting = context.config().getString("greeting", "Hello");
        context.addMessage("hello_name_too_long", "name must be at most 64 characters",
                           "name 不能超过 64 个字符");

        context.addRoute(Route{"GET", "/hello/v1/greeting", Route::Auth::None,
                               [greeting](const Request& request, Response& response) {
                                   const std::string name = request.query("name");
                                   if (name.size() > 64)
                                       throw ApiError::invalidArgument("hello_name_too_long");
                                   response.body->set("message", greeting + ", " + (name.empty() ? "world" : name));
                               }});

        // The host has checked the Bearer access token before this runs.
        context.addRoute(Route{"GET", "/hello/v1/me", Route::Auth::AccessToken,
                               [](const Request& request, Response& response) {
                                   response.body->set("sub", request.principal()->userId);
                               }});
    }

    void stop() override {}
};

IDENTITY_PLUGIN(HelloPlugin)

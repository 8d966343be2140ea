#include "app/OperationsEndpoints.h"

#include "auth/Authenticator.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

#include <Poco/DateTimeFormatter.h>

namespace identity::host
{

using sdk::ApiError;

OperationsEndpoints::OperationsEndpoints(PluginManager& plugins, Database& database, const RequestCounters& counters,
                                         std::string adminToken, std::function<void(MetricsPage&)> more)
    : _plugins(plugins), _database(database), _counters(counters), _adminToken(std::move(adminToken)),
      _more(std::move(more))
{
}

std::vector<std::string> OperationsEndpoints::unreadiness() const
{
    std::vector<std::string> reasons;
    if (!_database.ping())
        reasons.push_back("database: SELECT 1 failed");
    for (const auto& status : _plugins.status())
        if (status.state == "failed")
            reasons.push_back("plugin '" + status.name + "' is not running");
    return reasons;
}

void OperationsEndpoints::requireAdmin(const sdk::Request& request) const
{
    const std::string token = Authenticator::bearerToken(request.header("Authorization"));
    if (!sdk::crypto::constantTimeEquals(sdk::crypto::sha256(token), sdk::crypto::sha256(_adminToken)))
        throw ApiError::unauthenticated();
}

void OperationsEndpoints::addTo(RouteTable& table)
{
    using Auth = sdk::Route::Auth;
    // Public: states and reasons, never the operator's error texts (those are in /admin/plugins).
    auto health = [this](sdk::Response& response, bool readiness) {
        const std::vector<std::string> reasons = unreadiness();
        Poco::JSON::Array::Ptr plugins = new Poco::JSON::Array;
        for (const auto& status : _plugins.status())
        {
            Poco::JSON::Object::Ptr entry = new Poco::JSON::Object;
            entry->set("name", status.name);
            entry->set("version", status.version);
            entry->set("state", status.state);
            entry->set("generation", status.generation);
            plugins->add(entry);
        }
        Poco::JSON::Array::Ptr why = new Poco::JSON::Array;
        for (const auto& reason : reasons)
            why->add(reason);
        if (readiness && !reasons.empty())
            throw ApiError::unavailable(); // the envelope; /healthz tells why
        response.body->set("status", reasons.empty() ? "ok" : "degraded");
        response.body->set("plugins", plugins);
        if (!reasons.empty())
            response.body->set("reasons", why);
    };
    table.addRoute(sdk::Route{"GET", "/healthz", Auth::None,
                              [health](const sdk::Request&, sdk::Response& response) { health(response, false); }},
                   nullptr);
    table.addRoute(sdk::Route{"GET", "/readyz", Auth::None,
                              [health](const sdk::Request&, sdk::Response& response) { health(response, true); }},
                   nullptr);
    table.addRoute(sdk::Route{"GET", "/metrics", Auth::None,
                              [this](const sdk::Request&, sdk::Response& response) {
                                  MetricsPage page;
                                  for (int c = 1; c <= 5; ++c)
                                      page.counter("identity_http_requests_total",
                                                   "HTTP requests answered, by status class.",
                                                   static_cast<double>(_counters.byClass[c].load()),
                                                   {{"class", std::to_string(c) + "xx"}});
                                  int running = 0;
                                  for (const auto& status : _plugins.status())
                                  {
                                      running += status.state == "running";
                                      page.gauge("identity_plugin_generation", "The generation serving, by plugin.",
                                                 status.generation, {{"plugin", status.name}});
                                  }
                                  page.gauge("identity_plugins_running", "Plugins loaded and serving.", running);
                                  if (_more)
                                      _more(page);
                                  response.contentType = "text/plain; version=0.0.4; charset=utf-8";
                                  response.text = page.text();
                              }},
                   nullptr);
    if (!_adminToken.empty())
        addAdminRoutes(table);
}

void OperationsEndpoints::addAdminRoutes(RouteTable& table)
{
    using Auth = sdk::Route::Auth;
    table.addRoute(sdk::Route{"GET", "/admin/plugins", Auth::None,
                              [this](const sdk::Request& request, sdk::Response& response) {
                                  requireAdmin(request);
                                  Poco::JSON::Array::Ptr plugins = new Poco::JSON::Array;
                                  for (const auto& status : _plugins.status())
                                  {
                                      Poco::JSON::Object::Ptr entry = new Poco::JSON::Object;
                                      entry->set("name", status.name);
                                      entry->set("version", status.version);
                                      entry->set("sdk_version", status.sdkVersion);
                                      entry->set("state", status.state);
                                      entry->set("generation", status.generation);
                                      entry->set("library", status.library);
                                      entry->set("loaded_at",
                                                 status.generation == 0
                                                     ? std::string()
                                                     : Poco::DateTimeFormatter::format(status.loadedAt,
                                                                                       "%Y-%m-%dT%H:%M:%S.%iZ"));
                                      Poco::JSON::Array::Ptr routes = new Poco::JSON::Array;
                                      for (const auto& route : status.routes)
                                          routes->add(route);
                                      entry->set("routes", routes);
                                      entry->set("last_error", status.lastError);
                                      plugins->add(entry);
                                  }
                                  response.body->set("plugins", plugins);
                              }},
                   nullptr);
    // One exact route per configured plugin: the route table matches whole paths.
    for (const auto& status : _plugins.status())
    {
        const std::string name = status.name;
        table.addRoute(sdk::Route{"POST", "/admin/plugins/" + name + "/reload", Auth::None,
                                  [this, name](const sdk::Request& request, sdk::Response& response) {
                                      requireAdmin(request);
                                      bool reloaded = false;
                                      try
                                      {
                                          reloaded = _plugins.reload(name);
                                      }
                                      catch (const Poco::NotFoundException&)
                                      {
                                          throw ApiError::notFound();
                                      }
                                      if (!reloaded) // the previous build keeps serving; last_error says why
                                          throw ApiError::failedPrecondition("plugin_reload_failed");
                                      for (const auto& status : _plugins.status())
                                          if (status.name == name)
                                          {
                                              response.body->set("name", name);
                                              response.body->set("generation", status.generation);
                                          }
                                  }},
                       nullptr);
    }
}

} // namespace identity::host

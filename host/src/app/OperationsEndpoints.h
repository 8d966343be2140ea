#pragma once

#include "app/MetricsRegistry.h"
#include "http/RequestPipeline.h"
#include "http/RouteTable.h"
#include "plugins/PluginManager.h"
#include "storage/Database.h"

#include <functional>
#include <string>
#include <vector>

namespace identity::host
{

/// The operations and administration routes: `/healthz`, `/readyz`, `/metrics`, and with an admin
/// token `GET /admin/plugins` and `POST /admin/plugins/<name>/reload` (one exact route per configured
/// plugin, so they are added anew at every publication).
class OperationsEndpoints
{
public:
    /// `adminToken` empty: no admin routes.
    /// `more` writes what the server adds to /metrics: the front, the limits, the registry's histogram and
    /// counters, the plugins' collectors and the process.
    OperationsEndpoints(PluginManager& plugins, Database& database, const RequestCounters& counters,
                        std::string adminToken, std::function<void(MetricsPage&)> more);

    void addTo(RouteTable& table);

private:
    void addAdminRoutes(RouteTable& table);
    void requireAdmin(const sdk::Request& request) const;
    /// Why the host is not ready (empty when it is): the database and each enabled plugin.
    std::vector<std::string> unreadiness() const;

    PluginManager& _plugins;
    Database& _database;
    const RequestCounters& _counters;
    std::string _adminToken;
    std::function<void(MetricsPage&)> _more;
};

} // namespace identity::host

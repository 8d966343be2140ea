#pragma once

#include "identity/sdk/Http.h"

#include <map>
#include <memory>
#include <string>

namespace identity::host
{

/// What the host serves at one moment: routes, each with the owner that must stay alive while it is
/// used (a plugin generation; null for the host's own). Services are in the ServiceRegistry. Immutable once published: a plugin
/// (re)load builds a new table and swaps it in atomically (see Dispatcher), and requests already inside
/// the old one keep its owners alive until they finish.
class RouteTable
{
public:
    // The owner is declared first so that it is destroyed last: the route's handler is the plugin's
    // code, and must be gone before the owner may unload the library.
    struct RouteEntry
    {
        std::shared_ptr<const void> owner;
        sdk::Route route;
    };

    /// Throws Poco::ExistsException when method and path are taken.
    void addRoute(sdk::Route route, std::shared_ptr<const void> owner);

    /// Null when the path is unknown; else the entry for the method, or null with `allow` set to the
    /// path's methods ("GET, POST").
    const RouteEntry* find(const std::string& method, const std::string& path, std::string& allow, bool& pathKnown) const;

private:
    std::map<std::string, std::map<std::string, RouteEntry>> _routes; // path -> method -> entry
};

} // namespace identity::host

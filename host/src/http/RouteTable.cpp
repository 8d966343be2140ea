#include "http/RouteTable.h"

#include <Poco/Exception.h>

namespace identity::host
{

void RouteTable::addRoute(sdk::Route route, std::shared_ptr<const void> owner)
{
    auto& methods = _routes[route.path];
    const std::string method = route.method, path = route.path;
    if (!methods.emplace(method, RouteEntry{std::move(owner), std::move(route)}).second)
        throw Poco::ExistsException("route already served", method + " " + path);
}

const RouteTable::RouteEntry* RouteTable::find(const std::string& method, const std::string& path, std::string& allow,
                                               bool& pathKnown) const
{
    auto byPath = _routes.find(path);
    pathKnown = byPath != _routes.end();
    if (!pathKnown)
        return nullptr;
    auto byMethod = byPath->second.find(method);
    if (byMethod != byPath->second.end())
        return &byMethod->second;
    allow.clear();
    for (const auto& entry : byPath->second)
        allow += (allow.empty() ? "" : ", ") + entry.first;
    return nullptr;
}

} // namespace identity::host

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

void RouteTable::addService(const std::string& name, std::shared_ptr<sdk::Service> service,
                            std::shared_ptr<const void> owner)
{
    if (!_services.emplace(name, ServiceEntry{std::move(owner), std::move(service)}).second)
        throw Poco::ExistsException("service already provided", name);
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

const RouteTable::ServiceEntry* RouteTable::service(const std::string& name) const
{
    auto it = _services.find(name);
    return it == _services.end() ? nullptr : &it->second;
}

std::vector<const RouteTable::ServiceEntry*> RouteTable::servicesWithPrefix(const std::string& prefix) const
{
    std::vector<const ServiceEntry*> result;
    for (auto it = _services.lower_bound(prefix); it != _services.end() && it->first.rfind(prefix, 0) == 0; ++it)
        result.push_back(&it->second);
    return result;
}

} // namespace identity::host

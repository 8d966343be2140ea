#pragma once

#include "support/Snapshot.h"

#include "identity/sdk/Service.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace identity::host
{

/// The services the plugin generations being served offer, by name, as in OSP's ServiceRegistry. Each
/// entry holds its owner (the generation that provided it), so a caller that keeps the registry it
/// took keeps the provider's code loaded while it uses the service. Immutable once published.
class ServiceRegistry
{
public:
    struct Entry
    {
        std::shared_ptr<const void> owner; // declared first: released last
        std::shared_ptr<sdk::Service> service;
    };

    /// Throws Poco::ExistsException when the name is taken.
    void add(const std::string& name, std::shared_ptr<sdk::Service> service, std::shared_ptr<const void> owner);

    /// The service of that name and type, or null.
    template <typename T> std::shared_ptr<T> find(const std::string& name) const
    {
        auto it = _entries.find(name);
        return it == _entries.end() ? nullptr : std::dynamic_pointer_cast<T>(it->second.service);
    }

    /// Every service of type T whose name starts with `prefix`.
    template <typename T> std::vector<std::shared_ptr<T>> findAll(const std::string& prefix) const
    {
        std::vector<std::shared_ptr<T>> result;
        for (auto it = _entries.lower_bound(prefix); it != _entries.end() && it->first.rfind(prefix, 0) == 0; ++it)
            if (auto service = std::dynamic_pointer_cast<T>(it->second.service))
                result.push_back(std::move(service));
        return result;
    }

    /// The same, with their names.
    template <typename T>
    std::vector<std::pair<std::string, std::shared_ptr<T>>> namedAll(const std::string& prefix) const
    {
        std::vector<std::pair<std::string, std::shared_ptr<T>>> result;
        for (auto it = _entries.lower_bound(prefix); it != _entries.end() && it->first.rfind(prefix, 0) == 0; ++it)
            if (auto service = std::dynamic_pointer_cast<T>(it->second.service))
                result.emplace_back(it->first, std::move(service));
        return result;
    }

private:
    std::map<std::string, Entry> _entries;
};

/// Holds the registry being served and swaps in a new one atomically (like Dispatcher for routes).
using ServiceDirectory = Snapshot<ServiceRegistry>;

} // namespace identity::host

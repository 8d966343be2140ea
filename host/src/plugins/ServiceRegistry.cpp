#include "plugins/ServiceRegistry.h"

#include <Poco/Exception.h>

namespace identity::host
{

void ServiceRegistry::add(const std::string& name, std::shared_ptr<sdk::Service> service,
                          std::shared_ptr<const void> owner)
{
    if (!_entries.emplace(name, Entry{std::move(owner), std::move(service)}).second)
        throw Poco::ExistsException("service already provided", name);
}

} // namespace identity::host

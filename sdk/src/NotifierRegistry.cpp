#include "identity/sdk/Notifier.h"

#include <Poco/Exception.h>

namespace identity::sdk
{

NotifierRegistry::NotifierRegistry() = default;
NotifierRegistry::~NotifierRegistry() = default;

void NotifierRegistry::add(const std::string& type, NotifierFactory factory)
{
    if (!_factories.emplace(type, std::move(factory)).second)
        throw Poco::ExistsException("notifier type registered twice", type);
}

NotifierPtr NotifierRegistry::create(const std::string& type, const Poco::Util::AbstractConfiguration& config) const
{
    auto it = _factories.find(type);
    if (it == _factories.end() && _fallback)
        if (NotifierPtr provided = _fallback(type, config))
            return provided;
    if (it == _factories.end())
    {
        std::string known;
        for (const auto& entry : _factories)
            known += (known.empty() ? "" : ", ") + entry.first;
        throw Poco::NotFoundException("unknown notifier type '" + type + "' (known: " + known +
                                      "; no other plugin provides it)");
    }
    return it->second(config);
}

std::vector<std::string> NotifierRegistry::types() const
{
    std::vector<std::string> result;
    for (const auto& entry : _factories)
        result.push_back(entry.first);
    return result;
}

void NotifierRegistry::setFallback(Fallback fallback) { _fallback = std::move(fallback); }

void NotifierRegistry::clear()
{
    _factories.clear();
    _fallback = nullptr;
}

} // namespace identity::sdk

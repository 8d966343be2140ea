#include "plugins/HostPluginContext.h"

namespace identity::host
{

HostPluginContext::HostPluginContext(std::string name, Poco::AutoPtr<Poco::Util::AbstractConfiguration> config,
                                     PluginServices& services)
    : _name(std::move(name)), _config(std::move(config)), _services(services),
      _logger(Poco::Logger::get("plugin." + _name))
{
    _notifiers.setFallback([this](const std::string& type, const Poco::Util::AbstractConfiguration& config) {
        if (!_services.providedNotifiers)
            return sdk::NotifierPtr();
        ProvidedNotifier provided = _services.providedNotifiers(type, config);
        if (provided.notifier && provided.provider != _name)
        {
            std::lock_guard<std::mutex> lock(_providersMutex);
            _providersUsed.insert(provided.provider);
        }
        return std::move(provided.notifier);
    });
}

std::set<std::string> HostPluginContext::providersUsed() const
{
    std::lock_guard<std::mutex> lock(_providersMutex);
    return _providersUsed;
}

HostPluginContext::~HostPluginContext() = default;

void HostPluginContext::addRoute(sdk::Route route)
{
    if (route.path.empty() || route.path[0] != '/' || route.method.empty() || !route.handler)
        throw Poco::InvalidArgumentException("plugin " + _name + " added an incomplete route", route.path);
    _routes.push_back(std::move(route));
}

std::shared_ptr<sdk::Counter> HostPluginContext::counter(const std::string& name, const std::string& help,
                                                        const sdk::MetricLabels& labels)
{
    if (_services.metrics)
        return _services.metrics->counter(name, help, labels);
    MetricsRegistry unshown; // checks the name all the same
    return unshown.counter(name, help, labels);
}

void HostPluginContext::addMetricsCollector(sdk::MetricsCollector collector)
{
    if (!collector)
        throw Poco::InvalidArgumentException("plugin " + _name + " added an empty metrics collector");
    _collectors.push_back(std::move(collector));
}

void HostPluginContext::addMessage(const std::string& key, const std::string& english, const std::string& chinese)
{
    if (_services.messages.isHostKey(key))
        throw Poco::ExistsException("plugin " + _name + " redefines the host's message", key);
    if (key.empty() || !_messages.emplace(key, std::make_pair(english, chinese)).second)
        throw Poco::ExistsException("plugin " + _name + " added a message twice or without a key", key);
}

void HostPluginContext::provideService(const std::string& name, std::shared_ptr<sdk::Service> service)
{
    if (!service)
        throw Poco::InvalidArgumentException("plugin " + _name + " provided a null service", name);
    _provided.emplace_back(name, std::move(service));
}

std::string HostPluginContext::secret(const std::string& name)
{
    return _services.secrets.resolve("plugins." + _name + "." + name, _config->getString(name, ""));
}

void HostPluginContext::clear()
{
    _routes.clear();
    _collectors.clear();
    _provided.clear();
    _notifiers.clear();
    _messages.clear();
}

} // namespace identity::host

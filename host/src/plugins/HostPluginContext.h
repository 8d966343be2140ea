#pragma once

#include "app/MetricsRegistry.h"

#include "plugins/PluginManifest.h"

#include "app/SecretStore.h"
#include "http/MessageCatalog.h"

#include "identity/sdk/PluginContext.h"

#include <Poco/AutoPtr.h>
#include <Poco/Util/LayeredConfiguration.h>

#include <functional>
#include <mutex>
#include <memory>
#include <set>
#include <utility>
#include <vector>

namespace identity::host
{

/// A notifier of a type another plugin provides, and that plugin's name; a null notifier when no
/// plugin being served provides the type.
struct ProvidedNotifier
{
    sdk::NotifierPtr notifier;
    std::string provider;
};

/// What the host shares with every plugin.
struct PluginServices
{
    using NotifierLookup =
        std::function<ProvidedNotifier(const std::string& type, const Poco::Util::AbstractConfiguration& config)>;

    sdk::AuditLog& audit;
    const sdk::Clock& clock;
    sdk::SecureRandom& random;
    sdk::Storage& storage;
    MessageCatalog& messages;
    SecretStore& secrets;
    NotifierLookup providedNotifiers;
    /// Applies the plugin's migrations (its manifest's `migrations`) before its library loads; throws
    /// what refuses the load.
    std::function<void(const PluginManifest&)> migrate;
    /// False when plugins are loaded for an operator's command, not to serve.
    bool serving = true;
    /// Where plugins' counters are kept (null: counters are made but not shown).
    MetricsRegistry* metrics = nullptr;
};

/// The context of one plugin generation. It records the routes, services and messages the plugin adds,
/// so the host can publish them with the generation as their owner, and drop them before unloading.
class HostPluginContext : public sdk::PluginContext
{
public:
    HostPluginContext(std::string name, Poco::AutoPtr<Poco::Util::AbstractConfiguration> config,
                      PluginServices& services);
    ~HostPluginContext() override;

    const std::string& pluginName() const override { return _name; }
    const Poco::Util::AbstractConfiguration& config() const override { return *_config; }
    Poco::Logger& logger() const override { return _logger; }
    sdk::AuditLog& audit() override { return _services.audit; }
    const sdk::Clock& clock() const override { return _services.clock; }
    sdk::SecureRandom& random() override { return _services.random; }
    sdk::Storage& storage() override { return _services.storage; }
    sdk::NotifierRegistry& notifiers() override { return _notifiers; }
    bool serving() const override { return _services.serving; }
    void addRoute(sdk::Route route) override;
    std::shared_ptr<sdk::Counter> counter(const std::string& name, const std::string& help,
                                          const sdk::MetricLabels& labels) override;
    void addMetricsCollector(sdk::MetricsCollector collector) override;
    void addMessage(const std::string& key, const std::string& english, const std::string& chinese) override;
    void provideService(const std::string& name, std::shared_ptr<sdk::Service> service) override;
    std::string secret(const std::string& name) override;

    const std::vector<sdk::Route>& routes() const { return _routes; }
    const std::vector<sdk::MetricsCollector>& collectors() const { return _collectors; }
    const std::vector<std::pair<std::string, std::shared_ptr<sdk::Service>>>& services() const { return _provided; }
    const MessageCatalog::Messages& messages() const { return _messages; }

    /// The plugins whose notifiers this one uses: it restarts when one of them is reloaded.
    std::set<std::string> providersUsed() const;

    /// Drops everything the plugin registered (its code must not run after the library is unloaded).
    void clear();

private:
    std::string _name;
    Poco::AutoPtr<Poco::Util::AbstractConfiguration> _config;
    PluginServices& _services;
    Poco::Logger& _logger;
    sdk::NotifierRegistry _notifiers;
    std::vector<sdk::Route> _routes;
    std::vector<sdk::MetricsCollector> _collectors;
    std::vector<std::pair<std::string, std::shared_ptr<sdk::Service>>> _provided;
    MessageCatalog::Messages _messages;
    mutable std::mutex _providersMutex;
    std::set<std::string> _providersUsed;
};

} // namespace identity::host

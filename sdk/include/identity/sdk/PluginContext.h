#pragma once

#include "identity/sdk/AuditLog.h"
#include "identity/sdk/Clock.h"
#include "identity/sdk/Export.h"
#include "identity/sdk/Http.h"
#include "identity/sdk/Metrics.h"
#include "identity/sdk/Notifier.h"
#include "identity/sdk/SecureRandom.h"
#include "identity/sdk/Service.h"
#include "identity/sdk/Storage.h"

#include <Poco/Logger.h>
#include <Poco/Util/AbstractConfiguration.h>

#include <memory>
#include <string>

namespace identity::sdk
{

/// What the host gives a plugin: a narrow facade, valid from `Plugin::start` until `Plugin::stop`
/// returns. Everything a plugin registers here is owned by the plugin's generation in the host and is
/// dropped before the library is unloaded.
class IDENTITY_SDK_API PluginContext
{
public:
    virtual ~PluginContext();

    virtual const std::string& pluginName() const = 0;

    /// The plugin's configuration (`plugins.<name>.config`), over the defaults from its manifest.
    virtual const Poco::Util::AbstractConfiguration& config() const = 0;

    virtual Poco::Logger& logger() const = 0;
    virtual AuditLog& audit() = 0;
    virtual const Clock& clock() const = 0;
    virtual SecureRandom& random() = 0;
    virtual Storage& storage() = 0;

    /// Notifier factories: the host's and the ones the plugin adds; `create` picks by configuration.
    virtual NotifierRegistry& notifiers() = 0;

    /// Adds a route; a route already served by someone else is an error.
    virtual void addRoute(Route route) = 0;

    /// Adds a description for an ApiError key, in English and Simplified Chinese.
    virtual void addMessage(const std::string& key, const std::string& english, const std::string& chinese) = 0;

    /// Offers a service under a name (for example CodeVerifier::serviceName).
    virtual void provideService(const std::string& name, std::shared_ptr<Service> service) = 0;

    /// A secret of at least 32 bytes: the configuration value of the key `name` when set (from the
    /// environment or a file), else a development secret the host generated and keeps. Throws when
    /// neither is available. Never log it.
    virtual std::string secret(const std::string& name) = 0;

    /// False when the host loaded the plugin to run an operator's command (`identity-host outbox list`,
    /// `user delete`), not to serve: start no background work then (no delivery worker, no timers), only
    /// what the command needs. SDK 3.2.
    virtual bool serving() const = 0;

    /// The counter series `name` with `labels` on `/metrics`, made on first use and the same object
    /// afterwards, for this build and the next ones. `name` matches `identity_[a-z0-9_]*_total`; label
    /// names match `[a-z_][a-z0-9_]*`. A name the host or another plugin uses already joins that family
    /// (with its help text). Throws Poco::InvalidArgumentException for a name or label that breaks the
    /// rules. SDK 3.3.
    virtual std::shared_ptr<Counter> counter(const std::string& name, const std::string& help,
                                             const MetricLabels& labels = {}) = 0;

    /// Adds a collector of gauges, called at every scrape while this generation serves. SDK 3.3.
    virtual void addMetricsCollector(MetricsCollector collector) = 0;
};

} // namespace identity::sdk

#pragma once

#include "app/MetricsRegistry.h"

#include "storage/Database.h"
#include "support/TestDatabase.h"
#include "support/SystemClock.h"
#include "support/SystemRandom.h"

#include "identity/sdk/PluginContext.h"

#include <Poco/Util/MapConfiguration.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace identity::test
{

/// Audit events, kept for the test to read.
class RecordingAudit : public sdk::AuditLog
{
public:
    void record(const std::string& event, const std::string& userId, const Poco::JSON::Object& fields) override;
    std::vector<std::string> events() const;

private:
    mutable std::mutex _mutex;
    std::vector<std::string> _events;
};

/// A request as the host would hand it to a plugin, with fields the test sets.
class FixedRequest : public sdk::Request
{
public:
    explicit FixedRequest(sdk::Principal principal, std::string ip = "127.0.0.1");

    const std::string& method() const override { return _method; }
    const std::string& path() const override { return _path; }
    std::string header(const std::string&) const override { return {}; }
    std::string query(const std::string&) const override { return {}; }
    const Poco::JSON::Object& body() const override { return _body; }
    const std::string& clientAddress() const override { return _ip; }
    const std::string& requestId() const override { return _requestId; }
    const std::string& deviceId() const override { return _deviceId; }
    const std::string& clientId() const override { return _clientId; }
    const std::string& locale() const override { return _principal.locale; }
    const sdk::Principal* principal() const override { return &_principal; }

private:
    std::string _method = "POST", _path = "/auth/v1/user/reauthenticate", _ip, _requestId = "test", _deviceId,
                _clientId = "dev";
    Poco::JSON::Object _body;
    sdk::Principal _principal;
};

/// What a plugin's logic needs of the host, without a host: a real database (SQLite, or PostgreSQL
/// for the `_postgresql` runs; the host's and the plugin's migrations applied) in a fresh temporary folder, a manual clock, the system's CSPRNG, recorded audit
/// events and a configuration the test sets. For fast tests of CodeService, SendLimits and Outbox.
class PluginFixture : public sdk::PluginContext
{
public:
    explicit PluginFixture(const std::map<std::string, std::string>& config = {});
    ~PluginFixture() override;

    host::ManualClock& manualClock() { return _clock; }
    RecordingAudit& recordedAudit() { return _audit; }
    host::Database& database() { return *_database; }

    /// Inserts a user row (plugin rows refer to users) and returns its principal.
    sdk::Principal addUser(const std::string& id, const std::string& email, const std::string& phone);

    long long count(const std::string& sql);

    const std::string& pluginName() const override { return _name; }
    const Poco::Util::AbstractConfiguration& config() const override { return *_config; }
    Poco::Logger& logger() const override;
    sdk::AuditLog& audit() override { return _audit; }
    const sdk::Clock& clock() const override { return _clock; }
    sdk::SecureRandom& random() override { return _random; }
    sdk::Storage& storage() override { return *_database; }
    sdk::NotifierRegistry& notifiers() override { return _notifiers; }
    void addRoute(sdk::Route) override {}
    void addMessage(const std::string&, const std::string&, const std::string&) override {}
    void provideService(const std::string&, std::shared_ptr<sdk::Service>) override {}
    std::string secret(const std::string& name) override { return "fixture secret " + name + " padded to 32 bytes"; }
    bool serving() const override { return true; }
    std::shared_ptr<sdk::Counter> counter(const std::string& name, const std::string& help,
                                          const sdk::MetricLabels& labels) override
    {
        return _metrics.counter(name, help, labels);
    }
    void addMetricsCollector(sdk::MetricsCollector collector) override { _collectors.push_back(std::move(collector)); }

    /// What /metrics would show of the plugin: its counters and its collectors' gauges.
    std::string metricsText()
    {
        host::MetricsPage page;
        _metrics.writeTo(page);
        for (const auto& collector : _collectors)
            collector(page);
        return page.text();
    }

private:
    host::MetricsRegistry _metrics;
    std::vector<sdk::MetricsCollector> _collectors;
    std::string _name = "reauthenticate";
    std::string _folder;
    host::ManualClock _clock;
    host::SystemRandom _random;
    RecordingAudit _audit;
    sdk::NotifierRegistry _notifiers;
    Poco::AutoPtr<Poco::Util::MapConfiguration> _config;
    std::unique_ptr<TestDatabase> _testDatabase; // outlives the connections to it
    std::unique_ptr<host::Database> _database;
};

} // namespace identity::test

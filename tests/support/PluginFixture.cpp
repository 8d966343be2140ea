#include "support/PluginFixture.h"

#include <Poco/File.h>
#include <Poco/Logger.h>
#include <Poco/TemporaryFile.h>

#include <ctime>

namespace identity::test
{


void RecordingAudit::record(const std::string& event, const std::string&, const Poco::JSON::Object&)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _events.push_back(event);
}

std::vector<std::string> RecordingAudit::events() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _events;
}

FixedRequest::FixedRequest(sdk::Principal principal, std::string ip)
    : _ip(std::move(ip)), _principal(std::move(principal))
{
}

PluginFixture::PluginFixture(const std::map<std::string, std::string>& config)
    : _folder(Poco::TemporaryFile::tempName()), _clock(static_cast<Poco::Int64>(std::time(nullptr)) * 1000),
      _config(new Poco::Util::MapConfiguration)
{
    Poco::File(_folder).createDirectories();
    for (const auto& [key, value] : config)
        _config->setString(key, value);
    _testDatabase = std::make_unique<TestDatabase>(_folder);
    _database = std::make_unique<host::Database>(_testDatabase->url(), 8);
    _database->migrate();
    const std::string dialect = _database->dialect() == sdk::Dialect::SQLite ? "sqlite" : "postgresql";
    _database->migratePlugin("reauthenticate",
                             host::readMigrations(std::string(IDENTITY_SOURCE_DIR) + "/plugin/schema/" + dialect));
}

PluginFixture::~PluginFixture()
{
    _database.reset();
    _testDatabase.reset();
    try
    {
        Poco::File(_folder).remove(true);
    }
    catch (...)
    {
    }
}

Poco::Logger& PluginFixture::logger() const { return Poco::Logger::get("plugin.fixture"); }

sdk::Principal PluginFixture::addUser(const std::string& id, const std::string& email, const std::string& phone)
{
    const Poco::Int64 now = _clock.now();
    _database->write([&](sdk::Transaction& transaction) {
        transaction.execute("INSERT INTO users(id, email, phone_number, password_hash, locale, created_at, updated_at) "
                            "VALUES ($1, $2, $3, 'unused', 'en', $4, $5)",
                            {sdk::Value(id), sdk::Value::textOrNull(email), sdk::Value::textOrNull(phone),
                             sdk::Value(now), sdk::Value(now)});
    });
    return sdk::Principal{id, "session-" + id, email, phone, "en"};
}

long long PluginFixture::count(const std::string& sql)
{
    long long value = 0;
    _database->read([&](sdk::Transaction& transaction) {
        const sdk::Result result = transaction.execute(sql);
        value = result.empty() ? 0 : result.front().integer(0);
    });
    return value;
}

} // namespace identity::test

#include "support/PluginFixture.h"

#include <Poco/File.h>
#include <Poco/Logger.h>
#include <Poco/TemporaryFile.h>

#include <ctime>

namespace identity::test
{

using namespace Poco::Data::Keywords;

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
    _database = std::make_unique<host::Database>("sqlite:" + _folder + "/identity.db", 8);
    _database->migrate();
}

PluginFixture::~PluginFixture()
{
    _database.reset();
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
    Poco::Data::Session session = _database->session();
    std::string userId = id, hash = "unused", locale = "en";
    Poco::Nullable<std::string> mail, number;
    if (!email.empty())
        mail = email;
    if (!phone.empty())
        number = phone;
    Poco::Int64 now = _clock.now();
    session << "INSERT INTO users(id, email, phone_number, password_hash, locale, created_at, updated_at) "
               "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        use(userId), use(mail), use(number), use(hash), use(locale), use(now), bind(now), Poco::Data::Keywords::now;
    return sdk::Principal{id, "session-" + id, email, phone, "en"};
}

long long PluginFixture::count(const std::string& sql)
{
    Poco::Data::Session session = _database->session();
    Poco::Int64 value = 0;
    session << sql, into(value), now;
    return value;
}

} // namespace identity::test

#include "codes/SendLimits.h"

#include "identity/sdk/ApiError.h"

#include <Poco/Nullable.h>

namespace identity::reauth
{

using namespace Poco::Data::Keywords;

SendLimits::SendLimits(const ReauthenticateSettings& settings, sdk::AuditLog& audit)
    : _settings(settings), _audit(audit)
{
}

Poco::Int64 SendLimits::windowWait(Poco::Data::Session& session, const std::string& column, const std::string& value,
                                   int limit, int window, Poco::Int64 timestamp)
{
    if (limit <= 0)
        return 0;
    std::string key = value;
    Poco::Int64 since = timestamp - window;
    int count = 0;
    Poco::Nullable<Poco::Int64> oldest;
    session << "SELECT COUNT(*), MIN(created_at) FROM send_events WHERE " + column + " = $1 AND created_at > $2",
        use(key), use(since), into(count), into(oldest), now;
    if (count < limit || oldest.isNull())
        return 0;
    // The window has room again when its oldest event leaves it. (With more events than the limit in
    // the window, e.g. after the limit was lowered, this is a lower bound; the client retries.)
    return oldest.value() + window - timestamp;
}

void SendLimits::check(Poco::Data::Session& session, const SendAttempt& attempt, Poco::Int64 timestamp) const
{
    struct Limit
    {
        const char* name;
        Poco::Int64 wait;
    };
    Poco::Int64 cooldown = 0;
    if (_settings.cooldownSeconds > 0)
    {
        std::string user = attempt.userId;
        Poco::Nullable<Poco::Int64> last;
        session << "SELECT MAX(created_at) FROM send_events WHERE user_id = $1", use(user), into(last), now;
        if (!last.isNull() && timestamp - last.value() < _settings.cooldownSeconds)
            cooldown = _settings.cooldownSeconds - (timestamp - last.value());
    }
    const Limit limits[] = {
        {"cooldown", cooldown},
        {"per_user_per_hour", windowWait(session, "user_id", attempt.userId, _settings.perUserPerHour, 3600, timestamp)},
        {"per_ip_per_hour", windowWait(session, "ip", attempt.ip, _settings.perIpPerHour, 3600, timestamp)},
        {"per_destination_per_hour",
         windowWait(session, "destination_hash", attempt.destinationHash, _settings.perDestinationPerHour, 3600, timestamp)},
        {"sms_per_minute",
         attempt.channel == "sms" ? windowWait(session, "channel", "sms", _settings.smsPerMinute, 60, timestamp) : 0},
    };
    for (const Limit& limit : limits)
    {
        if (limit.wait <= 0)
            continue;
        Poco::JSON::Object fields;
        fields.set("limit", limit.name);
        fields.set("channel", attempt.channel);
        fields.set("retry_after", limit.wait);
        _audit.record("send_limited", attempt.userId, fields);
        throw sdk::ApiError::resourceExhausted(static_cast<int>(limit.wait));
    }
}

void SendLimits::record(Poco::Data::Session& session, const SendAttempt& attempt, Poco::Int64 timestamp) const
{
    std::string user = attempt.userId, ip = attempt.ip, destination = attempt.destinationHash,
                channel = attempt.channel;
    Poco::Int64 at = timestamp;
    session << "INSERT INTO send_events(user_id, ip, destination_hash, channel, created_at) VALUES ($1, $2, $3, $4, $5)",
        use(user), use(ip), use(destination), use(channel), use(at), now;
}

void SendLimits::prune(Poco::Data::Session& session, Poco::Int64 timestamp)
{
    Poco::Int64 before = timestamp - 3600;
    session << "DELETE FROM send_events WHERE created_at <= $1", use(before), now;
}

} // namespace identity::reauth

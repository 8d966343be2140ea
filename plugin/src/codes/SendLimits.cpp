#include "codes/SendLimits.h"

#include "identity/sdk/ApiError.h"

namespace identity::reauth
{

using sdk::Value;

SendLimits::SendLimits(const ReauthenticateSettings& settings, sdk::AuditLog& audit)
    : _settings(settings), _audit(audit)
{
}

void SendLimits::lock(sdk::Transaction& transaction, const SendAttempt& attempt) const
{
    transaction.lock(sdk::userLockKey(attempt.userId)); // also what an account deletion takes
    if (_settings.perIpPerHour > 0)
        transaction.lock("reauthenticate:ip:" + attempt.ip);
    if (_settings.perDestinationPerHour > 0)
        transaction.lock("reauthenticate:destination:" + attempt.destinationHash);
    if (attempt.channel == "sms" && _settings.smsPerMinute > 0)
        transaction.lock("reauthenticate:channel:sms");
}

Poco::Int64 SendLimits::windowWait(sdk::Transaction& transaction, const std::string& column,
                                   const std::string& value, int limit, int window, Poco::Int64 timestamp)
{
    if (limit <= 0)
        return 0;
    const sdk::Result result = transaction.execute(
        "SELECT COUNT(*), MIN(created_at) FROM send_events WHERE " + column + " = $1 AND created_at > $2",
        {Value(value), Value(timestamp - window)});
    const sdk::Row& row = result.front();
    if (row.integer(0) < limit || row.isNull(1))
        return 0;
    // The window has room again when its oldest event leaves it. (With more events than the limit in
    // the window, e.g. after the limit was lowered, this is a lower bound; the client retries.)
    return row.integer(1) + window - timestamp;
}

std::optional<LimitHit> SendLimits::check(sdk::Transaction& transaction, const SendAttempt& attempt,
                                          Poco::Int64 timestamp) const
{
    Poco::Int64 cooldown = 0;
    if (_settings.cooldownSeconds > 0)
    {
        const sdk::Result last = transaction.execute(
            "SELECT MAX(created_at) FROM send_events WHERE user_id = $1", {Value(attempt.userId)});
        if (!last.front().isNull(0) && timestamp - last.front().integer(0) < _settings.cooldownSeconds)
            cooldown = _settings.cooldownSeconds - (timestamp - last.front().integer(0));
    }
    if (cooldown > 0)
        return LimitHit{"cooldown", cooldown};
    struct Window
    {
        const char* name;
        const char* column;
        const std::string& value;
        int limit;
        int seconds;
    };
    static const std::string sms = "sms";
    const Window windows[] = {
        {"per_user_per_hour", "user_id", attempt.userId, _settings.perUserPerHour, 3600},
        {"per_ip_per_hour", "ip", attempt.ip, _settings.perIpPerHour, 3600},
        {"per_destination_per_hour", "destination_hash", attempt.destinationHash,
         _settings.perDestinationPerHour, 3600},
        {"sms_per_minute", "channel", sms, attempt.channel == "sms" ? _settings.smsPerMinute : 0, 60},
    };
    for (const Window& window : windows)
    {
        const Poco::Int64 wait =
            windowWait(transaction, window.column, window.value, window.limit, window.seconds, timestamp);
        if (wait > 0)
            return LimitHit{window.name, wait};
    }
    return std::nullopt;
}

void SendLimits::refuse(const LimitHit& hit, const SendAttempt& attempt) const
{
    Poco::JSON::Object fields;
    fields.set("limit", hit.name);
    fields.set("channel", attempt.channel);
    fields.set("retry_after", hit.retryAfter);
    _audit.record("send_limited", attempt.userId, fields);
    throw sdk::ApiError::resourceExhausted(static_cast<int>(hit.retryAfter));
}

void SendLimits::record(sdk::Transaction& transaction, const SendAttempt& attempt,
                        Poco::Int64 timestamp) const
{
    // With every limit that would count it off, the row would only be pruned an hour later: a limit
    // switched on by a reload counts from then on.
    const bool counted = _settings.cooldownSeconds > 0 || _settings.perUserPerHour > 0 ||
                         _settings.perIpPerHour > 0 || _settings.perDestinationPerHour > 0 ||
                         (attempt.channel == "sms" && _settings.smsPerMinute > 0);
    if (!counted)
        return;
    transaction.execute("INSERT INTO send_events(user_id, ip, destination_hash, channel, created_at) "
                        "VALUES ($1, $2, $3, $4, $5)",
                        {Value(attempt.userId), Value(attempt.ip), Value(attempt.destinationHash),
                         Value(attempt.channel), Value(timestamp)});
}

std::size_t SendLimits::prune(sdk::Transaction& transaction, Poco::Int64 timestamp, int batch)
{
    return transaction
        .execute("DELETE FROM send_events WHERE id IN (SELECT id FROM send_events WHERE created_at <= $1 "
                 "LIMIT $2)",
                 {Value(timestamp - 3600), Value(batch)})
        .affected;
}

} // namespace identity::reauth

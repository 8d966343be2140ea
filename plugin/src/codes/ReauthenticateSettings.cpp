#include "codes/ReauthenticateSettings.h"

#include <Poco/Exception.h>

namespace identity::reauth
{

namespace
{
int bounded(const Poco::Util::AbstractConfiguration& config, const std::string& key, int fallback, int low, int high)
{
    const int value = config.getInt(key, fallback);
    if (value < low || value > high)
        throw Poco::InvalidArgumentException(key + " must be between " + std::to_string(low) + " and " +
                                             std::to_string(high));
    return value;
}
} // namespace

ReauthenticateSettings ReauthenticateSettings::read(const Poco::Util::AbstractConfiguration& config)
{
    ReauthenticateSettings s;
    s.codeTtl = bounded(config, "code_ttl", s.codeTtl, 60, 600);
    s.cooldownSeconds = bounded(config, "limits.cooldown_seconds", s.cooldownSeconds, 0, 86400);
    s.perUserPerHour = bounded(config, "limits.per_user_per_hour", s.perUserPerHour, 0, 1000000);
    s.perIpPerHour = bounded(config, "limits.per_ip_per_hour", s.perIpPerHour, 0, 1000000);
    s.perDestinationPerHour = bounded(config, "limits.per_destination_per_hour", s.perDestinationPerHour, 0, 1000000);
    s.smsPerMinute = bounded(config, "limits.sms_per_minute", s.smsPerMinute, 0, 1000000);
    // Zero would mean unlimited guesses: these two are never switched off.
    s.attemptsPerCode = bounded(config, "limits.attempts_per_code", s.attemptsPerCode, 1, 10);
    s.failuresBeforeLock = bounded(config, "limits.failures_before_lock", s.failuresBeforeLock, 1, 100);
    s.lockSeconds = bounded(config, "limits.lock_seconds", s.lockSeconds, 1, 86400 * 7);
    s.productName = config.getString("product_name", s.productName);
    s.pollMillis = bounded(config, "delivery.poll_ms", s.pollMillis, 10, 60000);
    s.batch = bounded(config, "delivery.batch", s.batch, 1, 1000);
    s.maxBackoffSeconds = bounded(config, "delivery.max_backoff_seconds", s.maxBackoffSeconds, 1, 3600);
    s.leaseSeconds = bounded(config, "delivery.lease_seconds", s.leaseSeconds, 5, 3600);
    return s;
}

} // namespace identity::reauth

#pragma once

#include <Poco/Util/AbstractConfiguration.h>

#include <string>

namespace identity::reauth
{

/// The plugin's configuration, read and checked once at start (a bad value stops the plugin from
/// starting, with the key in the message).
struct ReauthenticateSettings
{
    int codeTtl = 300;
    int cooldownSeconds = 60;
    int perUserPerHour = 10;
    int perIpPerHour = 50;
    int perDestinationPerHour = 5;
    int smsPerMinute = 100;
    int attemptsPerCode = 5;
    int failuresBeforeLock = 20;
    int lockSeconds = 3600;
    std::string productName = "Identity";
    int pollMillis = 500;
    int batch = 16;
    int maxBackoffSeconds = 60;
    int leaseSeconds = 120;

    static ReauthenticateSettings read(const Poco::Util::AbstractConfiguration& config);
};

} // namespace identity::reauth

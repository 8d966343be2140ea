#pragma once

#include "codes/ReauthenticateSettings.h"

#include "identity/sdk/AuditLog.h"

#include <Poco/Data/Session.h>

#include <string>

namespace identity::reauth
{

/// One request to send a code, as the limits see it.
struct SendAttempt
{
    std::string userId;
    std::string ip;
    std::string destinationHash; ///< keyed hash: limits per destination without storing it
    std::string channel;         ///< "email" or "sms"
};

/// The send limits of SPEC section 3 step 4, counted in the `send_events` table so that every instance
/// on one database enforces the same limits. Call inside the write transaction that records the send.
class SendLimits
{
public:
    SendLimits(const ReauthenticateSettings& settings, sdk::AuditLog& audit);

    /// Throws ApiError 429 with Retry-After when a limit is reached; changes nothing.
    void check(Poco::Data::Session& session, const SendAttempt& attempt, Poco::Int64 timestamp) const;

    void record(Poco::Data::Session& session, const SendAttempt& attempt, Poco::Int64 timestamp) const;

    /// Drops events older than every window.
    static void prune(Poco::Data::Session& session, Poco::Int64 timestamp);

private:
    /// Seconds until the window has room, or 0 when it has room now.
    static Poco::Int64 windowWait(Poco::Data::Session& session, const std::string& column, const std::string& value,
                                  int limit, int window, Poco::Int64 timestamp);

    const ReauthenticateSettings _settings; // a copy: the limits never outlive their settings
    sdk::AuditLog& _audit;
};

} // namespace identity::reauth

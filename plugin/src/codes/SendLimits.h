#pragma once

#include "codes/ReauthenticateSettings.h"

#include "identity/sdk/AuditLog.h"
#include "identity/sdk/Storage.h"

#include <optional>
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

/// A limit that refused a send, and the seconds until it has room again.
struct LimitHit
{
    const char* name;
    Poco::Int64 retryAfter;
};

/// The send limits of SPEC section 3 step 4, counted in the `send_events` table so that every instance
/// on one database enforces the same limits. Use inside the unit of work that records the send: `lock`
/// first, then `check`, then `record`.
class SendLimits
{
public:
    SendLimits(const ReauthenticateSettings& settings, sdk::AuditLog& audit);

    /// Serializes the sends that count against the same limits, on every instance: the user's always
    /// (sdk::userLockKey: its code is replaced too, and a deletion of the account waits), and the
    /// address's, destination's and SMS channel's when their limit is on. Counting, then inserting, is
    /// otherwise a race two instances can both win; the count sees what the lock's previous holder
    /// committed because write units run in READ COMMITTED. The keys are taken in one fixed order, so
    /// two sends never wait for each other in a cycle.
    void lock(sdk::Transaction& transaction, const SendAttempt& attempt) const;

    /// The first limit the attempt would exceed, or none. Changes nothing.
    std::optional<LimitHit> check(sdk::Transaction& transaction, const SendAttempt& attempt,
                                  Poco::Int64 timestamp) const;

    void record(sdk::Transaction& transaction, const SendAttempt& attempt, Poco::Int64 timestamp) const;

    /// Audits a refused send and throws ApiError 429 with Retry-After. Call after the unit of work.
    [[noreturn]] void refuse(const LimitHit& hit, const SendAttempt& attempt) const;

    /// Drops events older than every window, at most `batch`; returns how many.
    static std::size_t prune(sdk::Transaction& transaction, Poco::Int64 timestamp, int batch);

private:
    /// Seconds until the window has room, or 0 when it has room now.
    static Poco::Int64 windowWait(sdk::Transaction& transaction, const std::string& column, const std::string& value,
                                  int limit, int window, Poco::Int64 timestamp);

    const ReauthenticateSettings _settings; // a copy: the limits never outlive their settings
    sdk::AuditLog& _audit;
};

} // namespace identity::reauth

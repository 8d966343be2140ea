#pragma once

#include "identity/sdk/AuditLog.h"
#include "identity/sdk/Clock.h"
#include "identity/sdk/Storage.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace identity::host
{

struct PasswordLimits
{
    int failuresBeforeLock = 10;        ///< per sign-in name and client, and per account for sudo/old_password
    int lockSeconds = 900;              ///< the first lock; each further one doubles, up to a day
    int accountFailuresBeforeLock = 100; ///< per account, over every name and client
};

/// Limits password guessing, wherever a password is checked.
///
/// Every check takes its place in the counts it belongs to *before* the password is hashed, in one
/// statement per count, so parallel guesses cannot all pass a check made before any of them failed:
/// of 40 parallel wrong passwords against a limit of 10, exactly 10 are hashed. A taken place counts
/// as a failure until the password proves right, which drops the counts.
///
/// Sign-in counts per sign-in name (as sent: `username=dave` and `email=dave@…` are two names) and
/// client address (an IPv6 client by its /64): after `failuresBeforeLock` the name is locked *for that
/// client* with 429, for `lockSeconds`, doubling with each further lock up to a day. Names with and
/// without an account are counted alike, so a lock says nothing about who exists or which names are
/// one account's. An attacker at one address locks only itself out.
///
/// Across every name and client an account has a second count (`accountFailuresBeforeLock`, NIST SP
/// 800-63B's ceiling of 100 by default), against guessing spread over many addresses. Once it is
/// reached, sign-in from a client that never signed in to the account is refused *silently* (401, the
/// password is not checked, the time of a check is spent; its place in the name's count for the client
/// is taken as for any name, so a name of the locked account locks with 429 like every other), while
/// clients that have signed in before (known clients) go on: the owner keeps their account, and the
/// lock is no oracle.
///
/// Sudo with `password` and the `old_password` of a change are checked by a signed-in session; they
/// share one count per account (`user:<id>`), locked with 429 like a sign-in name.
class PasswordGuard
{
public:
    /// One password check's places in the counts, taken before the password is hashed.
    struct Attempt
    {
        std::vector<std::string> subjects; ///< the counts it took a place in
        std::string userId;                ///< the account, when there is one
        std::string client;                ///< the client's record (sign-in only)
        bool refused = false; ///< the account is locked for unknown clients: do not check the password
    };

    /// `recordKey` (32 bytes or more, `passwords.record_key`) keys the HMAC-SHA256 under which sign-in
    /// names and client addresses are kept in the counts and the known clients: a copy of the database
    /// does not tell who signed in, or tried to, from where (an unkeyed hash of an IPv4 address is
    /// undone by hashing all 2^32).
    PasswordGuard(sdk::Storage& storage, const sdk::Clock& clock, sdk::AuditLog& audit, PasswordLimits limits,
                  std::string recordKey);

    /// Compares the record key with the one the database's records were made under (its fingerprint in
    /// `key_fingerprints`, recorded by the first host; never replaced). Returns false, with a warning in
    /// the log, when they differ: another instance on the database has another key, or the key was
    /// changed, and the known clients and per-name counts made under the other key are no longer matched.
    bool checkRecordKey();

    /// The key of a client address: the address itself, an IPv6 address by its /64 (one subscriber's
    /// usual allocation), an IPv4-mapped IPv6 address as IPv4.
    static std::string clientKey(const std::string& address) noexcept;

    /// A sign-in by `field`=`login` from `clientAddress`, for `userId` (empty when the name has no
    /// active account). Throws ApiError 429 with Retry-After while the name is locked for this client.
    Attempt beginSignIn(const std::string& field, const std::string& login, const std::string& clientAddress,
                        const std::string& userId);

    /// A password check of a signed-in account (sudo, old_password). Throws 429 while it is locked.
    Attempt beginCheck(const std::string& userId);

    /// The password was right: the attempt's counts are dropped, and a sign-in's client is known from
    /// now on.
    void succeeded(const Attempt& attempt);

    /// Checks refused with 429 because their count was locked, since start.
    std::uint64_t lockRefusals() const { return _lockRefusals; }

    /// Drops an account's counts (the account is being deleted).
    void forget(sdk::Transaction& transaction, const std::string& userId);

    /// Drops counts that are not locked and saw no failure for a lock period (a day once they have been
    /// locked, and for an account's own count), and known clients unseen for 180 days, at most `batch`
    /// of each; returns how many.
    std::size_t prune(int batch);

private:
    static std::string clientKeyOf(const std::string& address);

    struct Place
    {
        bool taken = false;         ///< false: locked, nothing counted
        Poco::Int64 lockedUntil = 0;
        bool lockedNow = false;     ///< this place reached the limit and set the lock
    };

    /// Takes a place in `subject`'s count, in `transaction`, unless it is locked.
    Place take(sdk::Transaction& transaction, const std::string& subject, int limit, Poco::Int64 timestamp);
    void recordLock(const std::string& scope, const std::string& userId, Poco::Int64 lockedUntil,
                    Poco::Int64 timestamp);

    sdk::Storage& _storage;
    const sdk::Clock& _clock;
    sdk::AuditLog& _audit;
    PasswordLimits _limits;
    std::string _recordKey;
    std::atomic<std::uint64_t> _lockRefusals{0};
};

} // namespace identity::host

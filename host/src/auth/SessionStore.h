#pragma once

#include "identity/sdk/Clock.h"
#include "identity/sdk/Http.h"
#include "identity/sdk/Storage.h"

#include <chrono>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace identity::host
{

/// The `sessions` table: one row per sign-in, holding the SHA-256 of its current refresh token.
///
/// Every request with a bearer token asks for its session's principal. A live session's answer is kept
/// for at most `principalCacheFor` (1 s), so a burst of requests on one session reads the database once.
/// A change committed through this store (revocation, sign-out, a password change ending the other
/// sessions, an account deletion) empties the cache at once; another instance (PostgreSQL) or another
/// process sees it within that second.
class SessionStore
{
public:
    SessionStore(sdk::Storage& storage, const sdk::Clock& clock);

    /// Creates a session and returns its id.
    std::string create(const std::string& userId, const std::string& clientId, const std::string& deviceId,
                       const std::string& refreshHash, Poco::Int64 refreshExpiresAt);

    /// The signed-in user of a live session (not revoked, user active), with what the plugins need.
    std::optional<sdk::Principal> principal(const std::string& sessionId, const std::string& userId);

    /// Replaces a live, unexpired refresh token by a new one, atomically; the session's (id, user id)
    /// on success. Presenting the token a session had before its last rotation revokes that session
    /// (`reused` is then true).
    std::optional<std::pair<std::string, std::string>> rotateRefresh(const std::string& oldHash,
                                                                     const std::string& newHash,
                                                                     Poco::Int64 newExpiresAt, bool& reused);

    /// The session of a refresh token (live or not), for revocation.
    std::optional<std::string> sessionOfRefresh(const std::string& refreshHash);

    void revoke(const std::string& sessionId);
    /// Inside the caller's unit of work: call forgetCachedPrincipals() once it has committed.
    void revokeOthers(sdk::Transaction& transaction, const std::string& userId, const std::string& keepSessionId);
    void removeAll(sdk::Transaction& transaction, const std::string& userId);

    /// Inside the unit of work of the change a sudo token authorises: records the token as spent.
    /// Throws ApiError 403 4030 when it was spent already (a replay, or a race with another use).
    void spendSudoToken(sdk::Transaction& transaction, const std::string& tokenId, Poco::Int64 expiresAt);

    /// Drops spent sudo tokens an hour past their expiry, at most `batch`; returns how many.
    std::size_t pruneSpentSudoTokens(int batch);

    /// Empties the principal cache: after a change to sessions or users has committed.
    void forgetCachedPrincipals();

    static constexpr std::chrono::milliseconds principalCacheFor{1000};

    /// Drops sessions that ended (revoked, or their refresh token expired) more than `graceSeconds` ago,
    /// at most `batch` of them; returns how many.
    std::size_t prune(Poco::Int64 graceSeconds, int batch);

private:
    /// Empties the cache when the scope is left by an exception (a write that failed may have committed;
    /// emptying it for nothing only costs a read per session).
    struct ForgetOnFailure
    {
        SessionStore& store;
        int exceptions = std::uncaught_exceptions();
        ~ForgetOnFailure();
    };
    struct CachedPrincipal
    {
        sdk::Principal principal;
        std::chrono::steady_clock::time_point until;
    };
    static constexpr std::size_t maxCachedPrincipals = 65536;

    sdk::Storage& _storage;
    const sdk::Clock& _clock;
    std::mutex _cacheMutex;
    std::unordered_map<std::string, CachedPrincipal> _cache; ///< by session id
    /// Moves on at every forget: an answer read before a change committed is not cached after it.
    std::uint64_t _cacheGeneration = 0;
};

} // namespace identity::host

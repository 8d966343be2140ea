#include "auth/SessionStore.h"

#include "identity/sdk/ApiError.h"

#include <Poco/UUIDGenerator.h>

#include <exception>

namespace identity::host
{

using sdk::Value;

SessionStore::SessionStore(sdk::Storage& storage, const sdk::Clock& clock) : _storage(storage), _clock(clock) {}

std::string SessionStore::create(const std::string& userId, const std::string& clientId, const std::string& deviceId,
                                 const std::string& refreshHash, Poco::Int64 refreshExpiresAt)
{
    const std::string id = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
    const Poco::Int64 timestamp = _clock.now();
    _storage.write([&](sdk::Transaction& transaction) {
        transaction.execute("INSERT INTO sessions(id, user_id, refresh_hash, refresh_expires_at, client_id, device_id, "
                            "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            {Value(id), Value(userId), Value(refreshHash), Value(refreshExpiresAt), Value(clientId),
                             Value(deviceId), Value(timestamp)});
    });
    return id;
}

std::optional<sdk::Principal> SessionStore::principal(const std::string& sessionId, const std::string& userId)
{
    const auto now = std::chrono::steady_clock::now();
    std::uint64_t generation = 0;
    {
        std::lock_guard<std::mutex> lock(_cacheMutex);
        const auto cached = _cache.find(sessionId);
        if (cached != _cache.end() && cached->second.until > now && cached->second.principal.userId == userId)
            return cached->second.principal;
        generation = _cacheGeneration;
    }
    std::optional<sdk::Principal> found;
    _storage.read([&](sdk::Transaction& transaction) {
        const sdk::Result result = transaction.execute(
            "SELECT u.id, u.email, u.phone_number, u.locale FROM sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND u.status = 'active'",
            {Value(sessionId), Value(userId)});
        if (result.empty())
            return;
        sdk::Principal principal;
        principal.userId = result.front().text(0);
        principal.email = result.front().text(1);
        principal.phoneNumber = result.front().text(2);
        principal.locale = result.front().text(3);
        principal.sessionId = sessionId;
        found = std::move(principal);
    });
    if (found) // only live sessions: ids from forged or dead tokens are not kept
    {
        std::lock_guard<std::mutex> lock(_cacheMutex);
        if (generation == _cacheGeneration)
        {
            if (_cache.size() >= maxCachedPrincipals)
                _cache.clear();
            _cache[sessionId] = CachedPrincipal{*found, now + principalCacheFor};
        }
    }
    return found;
}

void SessionStore::spendSudoToken(sdk::Transaction& transaction, const std::string& tokenId, Poco::Int64 expiresAt)
{
    try
    {
        transaction.execute("INSERT INTO spent_sudo_tokens(jti, expires_at) VALUES ($1, $2)",
                            {Value(tokenId), Value(expiresAt)});
    }
    catch (const sdk::StorageConflict&)
    {
        throw sdk::ApiError::permissionDenied("invalid_sudo_token");
    }
}

std::size_t SessionStore::pruneSpentSudoTokens(int batch)
{
    // An hour past expiry: an instance whose clock is behind this one's still refuses the token itself.
    const Poco::Int64 before = _clock.now() - 3600;
    std::size_t removed = 0;
    _storage.write([&](sdk::Transaction& transaction) {
        removed = transaction
                      .execute("DELETE FROM spent_sudo_tokens WHERE jti IN (SELECT jti FROM spent_sudo_tokens "
                               "WHERE expires_at < $1 LIMIT $2)",
                               {Value(before), Value(batch)})
                      .affected;
    });
    return removed;
}

SessionStore::ForgetOnFailure::~ForgetOnFailure()
{
    if (std::uncaught_exceptions() > exceptions)
        store.forgetCachedPrincipals();
}

void SessionStore::forgetCachedPrincipals()
{
    std::lock_guard<std::mutex> lock(_cacheMutex);
    ++_cacheGeneration;
    _cache.clear();
}

std::optional<std::pair<std::string, std::string>> SessionStore::rotateRefresh(const std::string& oldHash,
                                                                               const std::string& newHash,
                                                                               Poco::Int64 newExpiresAt,
                                                                               bool& reused)
{
    const Poco::Int64 timestamp = _clock.now();
    std::optional<std::pair<std::string, std::string>> rotated;
    bool revoked = false;
    const ForgetOnFailure forget{*this}; // a failed write may still have committed a revocation
    _storage.write([&](sdk::Transaction& transaction) {
        rotated.reset();
        revoked = false;
        // One conditional update: of two concurrent refreshes with the same token, exactly one wins.
        const sdk::Result result = transaction.execute(
            "UPDATE sessions SET previous_refresh_hash = refresh_hash, refresh_hash = $1, refresh_expires_at = $2 "
            "WHERE refresh_hash = $3 AND revoked_at IS NULL AND refresh_expires_at > $4 "
            "AND user_id IN (SELECT id FROM users WHERE status = 'active') RETURNING id, user_id",
            {Value(newHash), Value(newExpiresAt), Value(oldHash), Value(timestamp)});
        if (!result.empty())
        {
            rotated = std::make_pair(result.front().text(0), result.front().text(1));
            return;
        }
        // A refresh token that was already exchanged: it leaked (or the client raced itself). Either way
        // the session can no longer be trusted.
        revoked = transaction
                      .execute("UPDATE sessions SET revoked_at = $1 WHERE previous_refresh_hash = $2 AND "
                               "revoked_at IS NULL",
                               {Value(timestamp), Value(oldHash)})
                      .affected > 0;
    });
    if (revoked)
        forgetCachedPrincipals();
    reused = revoked;
    return rotated;
}

std::optional<std::string> SessionStore::sessionOfRefresh(const std::string& refreshHash)
{
    std::optional<std::string> id;
    _storage.read([&](sdk::Transaction& transaction) {
        const sdk::Result result =
            transaction.execute("SELECT id FROM sessions WHERE refresh_hash = $1", {Value(refreshHash)});
        if (!result.empty())
            id = result.front().text(0);
    });
    return id;
}

void SessionStore::revoke(const std::string& sessionId)
{
    const Poco::Int64 timestamp = _clock.now();
    bool ended = false;
    const ForgetOnFailure forget{*this}; // a failed write may still have committed
    _storage.write([&](sdk::Transaction& transaction) {
        // `||`: a unit may run again after a batch failed as a whole (which may still have committed).
        ended = transaction
                    .execute("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                             {Value(timestamp), Value(sessionId)})
                    .affected > 0 ||
                ended;
    });
    // Only when a session ended: revoking a dead session's token (anyone may, without signing in) does
    // not empty everyone's cache.
    if (ended)
        forgetCachedPrincipals();
}

void SessionStore::revokeOthers(sdk::Transaction& transaction, const std::string& userId,
                                const std::string& keepSessionId)
{
    transaction.execute("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL",
                        {Value(_clock.now()), Value(userId), Value(keepSessionId)});
}

void SessionStore::removeAll(sdk::Transaction& transaction, const std::string& userId)
{
    transaction.execute("DELETE FROM sessions WHERE user_id = $1", {Value(userId)});
}

std::size_t SessionStore::prune(Poco::Int64 graceSeconds, int batch)
{
    const Poco::Int64 before = _clock.now() - graceSeconds;
    std::size_t removed = 0;
    _storage.write([&](sdk::Transaction& transaction) {
        removed = transaction
                      .execute("DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE revoked_at < $1 "
                               "OR refresh_expires_at < $2 LIMIT $3)",
                               {Value(before), Value(before), Value(batch)})
                      .affected;
    });
    return removed;
}

} // namespace identity::host

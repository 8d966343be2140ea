#include "auth/SessionStore.h"

#include <Poco/Nullable.h>
#include <Poco/UUIDGenerator.h>

namespace identity::host
{

using namespace Poco::Data::Keywords;

SessionStore::SessionStore(sdk::Storage& storage, const sdk::Clock& clock) : _storage(storage), _clock(clock) {}

std::string SessionStore::create(const std::string& userId, const std::string& clientId, const std::string& deviceId,
                                 const std::string& refreshHash, Poco::Int64 refreshExpiresAt)
{
    std::string id = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
    std::string user = userId, client = clientId, device = deviceId, hash = refreshHash;
    Poco::Int64 expires = refreshExpiresAt, timestamp = _clock.now();
    Poco::Data::Session session = _storage.session();
    session << "INSERT INTO sessions(id, user_id, refresh_hash, refresh_expires_at, client_id, device_id, created_at) "
               "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        use(id), use(user), use(hash), use(expires), use(client), use(device), use(timestamp), now;
    return id;
}

std::optional<sdk::Principal> SessionStore::principal(const std::string& sessionId, const std::string& userId)
{
    std::string sid = sessionId, uid = userId;
    Poco::Nullable<std::string> email, phone;
    sdk::Principal principal;
    Poco::Data::Session session = _storage.session();
    session << "SELECT u.id, u.email, u.phone_number, u.locale FROM sessions s JOIN users u ON u.id = s.user_id "
               "WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND u.status = 'active'",
        use(sid), use(uid), into(principal.userId), into(email), into(phone), into(principal.locale), now;
    if (principal.userId.empty())
        return std::nullopt;
    principal.sessionId = sessionId;
    principal.email = email.isNull() ? std::string() : email.value();
    principal.phoneNumber = phone.isNull() ? std::string() : phone.value();
    return principal;
}

std::optional<std::pair<std::string, std::string>> SessionStore::rotateRefresh(const std::string& oldHash,
                                                                               const std::string& newHash,
                                                                               Poco::Int64 newExpiresAt,
                                                                               bool& reused)
{
    std::string oldKey = oldHash, newKey = newHash;
    Poco::Int64 expires = newExpiresAt, timestamp = _clock.now();
    std::string id, userId;
    Poco::Data::Session session = _storage.session();
    // One conditional update: of two concurrent refreshes with the same token, exactly one wins.
    session << "UPDATE sessions SET previous_refresh_hash = refresh_hash, refresh_hash = $1, refresh_expires_at = $2 "
               "WHERE refresh_hash = $3 AND revoked_at IS NULL AND refresh_expires_at > $4 "
               "AND user_id IN (SELECT id FROM users WHERE status = 'active') RETURNING id, user_id",
        use(newKey), use(expires), use(oldKey), use(timestamp), into(id), into(userId), now;
    reused = false;
    if (!id.empty())
        return std::make_pair(id, userId);
    // A refresh token that was already exchanged: it leaked (or the client raced itself). Either way
    // the session can no longer be trusted.
    Poco::Data::Statement revoke(session);
    revoke << "UPDATE sessions SET revoked_at = $1 WHERE previous_refresh_hash = $2 AND revoked_at IS NULL",
        use(timestamp), use(oldKey);
    reused = revoke.execute() > 0;
    return std::nullopt;
}

std::optional<std::string> SessionStore::sessionOfRefresh(const std::string& refreshHash)
{
    std::string key = refreshHash, id;
    Poco::Data::Session session = _storage.session();
    session << "SELECT id FROM sessions WHERE refresh_hash = $1", use(key), into(id), now;
    if (id.empty())
        return std::nullopt;
    return id;
}

void SessionStore::revoke(const std::string& sessionId)
{
    std::string id = sessionId;
    Poco::Int64 timestamp = _clock.now();
    Poco::Data::Session session = _storage.session();
    session << "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", use(timestamp), use(id), now;
}

void SessionStore::revokeOthers(Poco::Data::Session& session, const std::string& userId,
                                const std::string& keepSessionId)
{
    std::string user = userId, keep = keepSessionId;
    Poco::Int64 timestamp = _clock.now();
    session << "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL", use(timestamp),
        use(user), use(keep), now;
}

void SessionStore::removeAll(Poco::Data::Session& session, const std::string& userId)
{
    std::string user = userId;
    session << "DELETE FROM sessions WHERE user_id = $1", use(user), now;
}

} // namespace identity::host

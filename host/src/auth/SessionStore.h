#pragma once

#include "identity/sdk/Clock.h"
#include "identity/sdk/Http.h"
#include "identity/sdk/Storage.h"

#include <optional>
#include <string>

namespace identity::host
{

/// The `sessions` table: one row per sign-in, holding the SHA-256 of its current refresh token.
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
    void revokeOthers(sdk::Transaction& transaction, const std::string& userId, const std::string& keepSessionId);
    void removeAll(sdk::Transaction& transaction, const std::string& userId);

    /// Drops sessions that ended (revoked, or their refresh token expired) more than `graceSeconds` ago,
    /// at most `batch` of them; returns how many.
    std::size_t prune(Poco::Int64 graceSeconds, int batch);

private:
    sdk::Storage& _storage;
    const sdk::Clock& _clock;
};

} // namespace identity::host

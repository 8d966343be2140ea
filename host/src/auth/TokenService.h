#pragma once

#include "identity/sdk/Clock.h"
#include "identity/sdk/SecureRandom.h"

#include <string>

namespace identity::host
{

struct TokenSettings
{
    std::string issuer;
    std::string audience;
    std::string secret; ///< HS256 key, at least 32 bytes
    int accessTtl = 7200;
    int sudoTtl = 900;
};

/// What a verified token says.
struct TokenClaims
{
    std::string userId;    ///< sub
    std::string sessionId; ///< sid
    std::string tokenId;   ///< jti (a sudo token is spent by it)
    Poco::Int64 expiresAt = 0;
};

/// Issues and verifies the host's JWTs (HS256, Poco JWT).
///
/// Access tokens have `typ: at+jwt` (RFC 9068) and sudo tokens `typ: sudo+jwt`, so neither passes for
/// the other. Verification is strict where Poco 1.11 is lenient: exactly three segments, a header
/// with only `alg` (the configured one, exact case) and `typ`, so `none` and any `kid`, `jku`, `x5u`,
/// `jwk` or `crit` are refused; a constant-time signature check; `iss`, `aud`, `sub`, `sid`, and integer
/// `exp`, `iat`, `nbf` all required and checked.
class TokenService
{
public:
    TokenService(TokenSettings settings, const sdk::Clock& clock, sdk::SecureRandom& random);

    std::string issueAccessToken(const std::string& userId, const std::string& sessionId) const;
    std::string issueSudoToken(const std::string& userId, const std::string& sessionId) const;

    /// Throws ApiError 401 4010 for anything but a valid, unexpired access token.
    TokenClaims verifyAccessToken(const std::string& jwt) const;

    /// Throws ApiError 403 4030 for anything but a valid, unexpired sudo token.
    TokenClaims verifySudoToken(const std::string& jwt) const;

    /// The claims of an access token whose signature is ours, even if expired (for revocation);
    /// false for anything else.
    bool tryReadOwnAccessToken(const std::string& jwt, TokenClaims& claims) const;

    int accessTtl() const { return _settings.accessTtl; }
    int sudoTtl() const { return _settings.sudoTtl; }

private:
    std::string issue(const std::string& type, const std::string& userId, const std::string& sessionId,
                      int ttl) const;

    /// Returns false (never throws) for any token that fails a check.
    bool verify(const std::string& jwt, const std::string& type, bool checkTime, TokenClaims& claims) const;

    TokenSettings _settings;
    const sdk::Clock& _clock;
    sdk::SecureRandom& _random;
};

} // namespace identity::host

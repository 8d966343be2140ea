#pragma once

#include "auth/TokenKeys.h"

#include "identity/sdk/Clock.h"
#include "identity/sdk/SecureRandom.h"

#include <memory>
#include <string>

namespace identity::host
{

struct TokenSettings
{
    std::string issuer;
    std::string audience;
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

/// Issues and verifies the host's JWTs, signed by TokenKeys (HS256, RS256, ES256 or EdDSA).
///
/// Access tokens have `typ: at+jwt` (RFC 9068) and sudo tokens `typ: sudo+jwt`, so neither passes for
/// the other. Tokens are encoded and checked here, not by Poco JWT, which is lenient: exactly three
/// segments of strict base64url; a header with only `alg`, `typ` and, exactly when the keys are
/// asymmetric, `kid`, so `none` and any `jku`, `x5u`, `jwk`, `x5c` or `crit` are refused; `alg` must be
/// the algorithm of the key that `kid` names (HS256 when there is none), exact case, so no token is
/// checked under another algorithm than its key's (an HS256 token keyed with an RSA public key is
/// refused); the signature is checked before the payload is read; `iss`, `aud`, `sub`, `sid`, and
/// integer `exp`, `iat`, `nbf` all required and checked.
class TokenService
{
public:
    TokenService(TokenSettings settings, std::shared_ptr<const TokenKeys> keys, const sdk::Clock& clock,
                 sdk::SecureRandom& random);

    /// Signs and verifies with `keys` from now on (a configuration reload); safe while requests run.
    void useKeys(std::shared_ptr<const TokenKeys> keys);

    /// The keys in use (for the JWKS).
    std::shared_ptr<const TokenKeys> keys() const;

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
    std::shared_ptr<const TokenKeys> _keys; // read and replaced with std::atomic_load / atomic_store
    const sdk::Clock& _clock;
    sdk::SecureRandom& _random;
};

} // namespace identity::host

#include "auth/TokenService.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

#include <Poco/JSON/Parser.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/StringTokenizer.h>

namespace identity::host
{

namespace crypto = sdk::crypto;

namespace
{
const std::string accessType = "at+jwt";
const std::string sudoType = "sudo+jwt";
const std::string algorithm = "HS256";

bool stringClaim(const Poco::JSON::Object& payload, const std::string& name, std::string& out)
{
    if (!payload.has(name) || !payload.get(name).isString())
        return false;
    out = payload.get(name).extract<std::string>();
    return !out.empty();
}

bool timeClaim(const Poco::JSON::Object& payload, const std::string& name, Poco::Int64& out)
{
    if (!payload.has(name))
        return false;
    const Poco::Dynamic::Var& value = payload.get(name);
    if (!value.isInteger())
        return false;
    out = value.convert<Poco::Int64>();
    return true;
}

bool audienceMatches(const Poco::JSON::Object& payload, const std::string& audience)
{
    if (!payload.has("aud"))
        return false;
    const Poco::Dynamic::Var& aud = payload.get("aud");
    if (aud.isString())
        return aud.extract<std::string>() == audience;
    if (payload.isArray("aud"))
    {
        for (const auto& entry : *payload.getArray("aud"))
            if (entry.isString() && entry.extract<std::string>() == audience)
                return true;
    }
    return false;
}
} // namespace

TokenService::TokenService(TokenSettings settings, const sdk::Clock& clock, sdk::SecureRandom& random)
    : _settings(std::move(settings)), _clock(clock), _random(random)
{
    if (_settings.secret.size() < 32)
        throw Poco::InvalidArgumentException("tokens.secret must be at least 32 bytes");
}

std::string TokenService::issue(const std::string& type, const std::string& userId, const std::string& sessionId,
                                int ttl) const
{
    const Poco::Int64 now = _clock.now();
    Poco::JWT::Token token;
    token.setType(type);
    token.setIssuer(_settings.issuer);
    token.setAudience(_settings.audience);
    token.setSubject(userId);
    token.payload().set("sid", sessionId);
    token.payload().set("jti", crypto::base64UrlEncode(_random.bytes(16)));
    // Integer timestamps: Poco's setExpiration() writes fractions some verifiers reject.
    token.payload().set("iat", now);
    token.payload().set("nbf", now);
    token.payload().set("exp", now + ttl);
    Poco::JWT::Signer signer(_settings.secret);
    return signer.sign(token, Poco::JWT::Signer::ALGO_HS256);
}

std::string TokenService::issueAccessToken(const std::string& userId, const std::string& sessionId) const
{
    return issue(accessType, userId, sessionId, _settings.accessTtl);
}

std::string TokenService::issueSudoToken(const std::string& userId, const std::string& sessionId) const
{
    return issue(sudoType, userId, sessionId, _settings.sudoTtl);
}

bool TokenService::verify(const std::string& jwt, const std::string& type, bool checkTime, TokenClaims& claims) const
{
    if (jwt.empty() || jwt.size() > 4096)
        return false;
    const auto firstDot = jwt.find('.');
    const auto secondDot = firstDot == std::string::npos ? firstDot : jwt.find('.', firstDot + 1);
    if (secondDot == std::string::npos || jwt.find('.', secondDot + 1) != std::string::npos)
        return false;
    try
    {
        Poco::JSON::Parser parser;
        const auto header = parser.parse(crypto::base64UrlDecode(jwt.substr(0, firstDot))).extract<Poco::JSON::Object::Ptr>();
        if (!header || header->size() != 2 || !header->has("alg") || !header->has("typ") ||
            !header->get("alg").isString() || header->getValue<std::string>("alg") != algorithm ||
            !header->get("typ").isString() || header->getValue<std::string>("typ") != type)
            return false;

        const std::string expected = crypto::hmacSha256(_settings.secret, jwt.substr(0, secondDot));
        if (!crypto::constantTimeEquals(crypto::base64UrlDecode(jwt.substr(secondDot + 1)), expected))
            return false;

        Poco::JWT::Token token(jwt);
        const Poco::JSON::Object& payload = token.payload();
        std::string issuer;
        Poco::Int64 issuedAt = 0, notBefore = 0;
        if (!stringClaim(payload, "iss", issuer) || issuer != _settings.issuer ||
            !audienceMatches(payload, _settings.audience) || !stringClaim(payload, "sub", claims.userId) ||
            !stringClaim(payload, "sid", claims.sessionId) || !timeClaim(payload, "exp", claims.expiresAt) ||
            !timeClaim(payload, "iat", issuedAt) || !timeClaim(payload, "nbf", notBefore))
            return false;
        claims.tokenId.clear();
        stringClaim(payload, "jti", claims.tokenId); // every token of ours has one; a sudo token needs it
        if (checkTime)
        {
            const Poco::Int64 now = _clock.now();
            if (claims.expiresAt <= now || notBefore > now)
                return false;
        }
        return true;
    }
    catch (const Poco::Exception&)
    {
        return false;
    }
    catch (const std::exception&)
    {
        return false;
    }
}

TokenClaims TokenService::verifyAccessToken(const std::string& jwt) const
{
    TokenClaims claims;
    if (!verify(jwt, accessType, true, claims))
        throw sdk::ApiError::unauthenticated();
    return claims;
}

TokenClaims TokenService::verifySudoToken(const std::string& jwt) const
{
    TokenClaims claims;
    // A sudo token is spent by its jti: one without is no sudo token of ours.
    if (!verify(jwt, sudoType, true, claims) || claims.tokenId.empty() || claims.tokenId.size() > 64)
        throw sdk::ApiError::permissionDenied("invalid_sudo_token");
    return claims;
}

bool TokenService::tryReadOwnAccessToken(const std::string& jwt, TokenClaims& claims) const
{
    return verify(jwt, accessType, false, claims);
}

} // namespace identity::host

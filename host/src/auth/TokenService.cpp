#include "auth/TokenService.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

#include <Poco/JSON/Parser.h>

#include <atomic>
#include <sstream>

namespace identity::host
{

namespace crypto = sdk::crypto;

namespace
{
const std::string accessType = "at+jwt";
const std::string sudoType = "sudo+jwt";

std::string json(const Poco::JSON::Object& object)
{
    std::ostringstream out;
    object.stringify(out);
    return out.str();
}

/// The JSON object a token segment holds; null when it holds anything else.
Poco::JSON::Object::Ptr segmentObject(const std::string& segment)
{
    Poco::JSON::Parser parser;
    const Poco::Dynamic::Var value = parser.parse(crypto::base64UrlDecode(segment));
    return value.type() == typeid(Poco::JSON::Object::Ptr) ? value.extract<Poco::JSON::Object::Ptr>() : nullptr;
}

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

TokenService::TokenService(TokenSettings settings, std::shared_ptr<const TokenKeys> keys,
                           const sdk::Clock& clock, sdk::SecureRandom& random)
    : _settings(std::move(settings)), _keys(std::move(keys)), _clock(clock), _random(random)
{
    if (!_keys)
        throw Poco::InvalidArgumentException("TokenService needs keys");
}

void TokenService::useKeys(std::shared_ptr<const TokenKeys> keys)
{
    if (!keys)
        throw Poco::InvalidArgumentException("TokenService needs keys");
    std::atomic_store(&_keys, std::shared_ptr<const TokenKeys>(std::move(keys)));
}

std::shared_ptr<const TokenKeys> TokenService::keys() const { return std::atomic_load(&_keys); }

std::string TokenService::issue(const std::string& type, const std::string& userId, const std::string& sessionId,
                                int ttl) const
{
    const std::shared_ptr<const TokenKeys> keys = this->keys();
    const Poco::Int64 now = _clock.now();
    Poco::JSON::Object header;
    header.set("alg", keys->algorithm());
    header.set("typ", type);
    if (keys->usesKid())
        header.set("kid", keys->signingKid());
    Poco::JSON::Object payload;
    payload.set("iss", _settings.issuer);
    payload.set("aud", _settings.audience);
    payload.set("sub", userId);
    payload.set("sid", sessionId);
    payload.set("jti", crypto::base64UrlEncode(_random.bytes(16)));
    // Integer timestamps, as RFC 7519 NumericDate is usually read.
    payload.set("iat", now);
    payload.set("nbf", now);
    payload.set("exp", now + ttl);
    const std::string signingInput =
        crypto::base64UrlEncode(json(header)) + "." + crypto::base64UrlEncode(json(payload));
    return signingInput + "." + crypto::base64UrlEncode(keys->sign(signingInput));
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
        const std::shared_ptr<const TokenKeys> keys = this->keys();
        const Poco::JSON::Object::Ptr header = segmentObject(jwt.substr(0, firstDot));
        // Exactly alg, typ and (with asymmetric keys) kid: nothing that points at a key of the sender's.
        const bool withKid = keys->usesKid();
        if (!header || header->size() != (withKid ? 3u : 2u) || !header->has("alg") || !header->has("typ") ||
            !header->get("alg").isString() || !header->get("typ").isString() ||
            header->getValue<std::string>("typ") != type ||
            (withKid && (!header->has("kid") || !header->get("kid").isString())))
            return false;
        const std::string kid = withKid ? header->getValue<std::string>("kid") : std::string();
        if (!keys->verify(header->getValue<std::string>("alg"), kid, jwt.substr(0, secondDot),
                          crypto::base64UrlDecode(jwt.substr(secondDot + 1))))
            return false;

        const Poco::JSON::Object::Ptr body = segmentObject(jwt.substr(firstDot + 1, secondDot - firstDot - 1));
        if (!body)
            return false;
        const Poco::JSON::Object& payload = *body;
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

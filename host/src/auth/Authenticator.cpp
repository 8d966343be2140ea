#include "auth/Authenticator.h"

#include "identity/sdk/ApiError.h"

#include <Poco/String.h>

namespace identity::host
{

Authenticator::Authenticator(const TokenService& tokens, SessionStore& sessions) : _tokens(tokens), _sessions(sessions) {}

std::string Authenticator::bearerToken(const std::string& authorization)
{
    const std::string value = Poco::trim(authorization);
    if (value.size() < 8 || Poco::icompare(value.substr(0, 7), "bearer ") != 0)
        return {};
    return Poco::trim(value.substr(7));
}

sdk::Principal Authenticator::authenticate(const std::string& authorization) const
{
    const std::string token = bearerToken(authorization);
    if (token.empty())
        throw sdk::ApiError::unauthenticated();
    const TokenClaims claims = _tokens.verifyAccessToken(token);
    auto principal = _sessions.principal(claims.sessionId, claims.userId);
    if (!principal)
        throw sdk::ApiError::unauthenticated();
    return *principal;
}

} // namespace identity::host

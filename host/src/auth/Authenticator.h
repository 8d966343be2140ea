#pragma once

#include "auth/SessionStore.h"
#include "auth/TokenService.h"

#include "identity/sdk/Http.h"

#include <string>

namespace identity::host
{

/// Turns an `Authorization: Bearer …` header into the signed-in user: the token's signature and claims
/// (TokenService), then its session (live) and user (active) in one query.
class Authenticator
{
public:
    Authenticator(const TokenService& tokens, SessionStore& sessions);

    /// Throws ApiError 401 4010.
    sdk::Principal authenticate(const std::string& authorization) const;

    /// The token of a Bearer header, empty if it is not one.
    static std::string bearerToken(const std::string& authorization);

private:
    const TokenService& _tokens;
    SessionStore& _sessions;
};

} // namespace identity::host

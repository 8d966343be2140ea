#pragma once

#include "auth/HashingSlots.h"
#include "auth/PasswordGuard.h"
#include "auth/PasswordHasher.h"
#include "auth/PasswordSchemes.h"
#include "auth/SessionStore.h"
#include "auth/SignInThrottle.h"
#include "auth/TokenService.h"
#include "auth/UserStore.h"
#include "http/RouteTable.h"
#include "plugins/ServiceRegistry.h"

#include "identity/sdk/AuditLog.h"
#include "identity/sdk/Http.h"

namespace identity::host
{

/// The host's own CloudBase auth v1 endpoints: signin, token (refresh), revoke, user/me (GET and
/// DELETE), user/signout, user/sudo and user/password; and the key set, .well-known/jwks.json.
class AuthEndpoints
{
public:
    struct Dependencies
    {
        UserStore& users;
        SessionStore& sessions;
        const TokenService& tokens;
        const PasswordHasher& passwords;
        PasswordGuard& passwordGuard;
        PasswordSchemes& passwordSchemes;
        HashingSlots& hashing;
        SignInThrottle& signInThrottle;
        sdk::Storage& storage;
        sdk::SecureRandom& random;
        const sdk::Clock& clock;
        sdk::AuditLog& audit;
        const ServiceDirectory& services;
        int refreshTtl;
    };

    explicit AuthEndpoints(Dependencies dependencies);

    void addTo(RouteTable& table);

    /// Deletes the account and, in the same unit of work, its sessions, its password records, every
    /// plugin's data about it (UserDataOwner), and tells the account event listeners (its notice);
    /// `sudo`, when given, is spent with it. False when there is no such account. DELETE /auth/v1/user/me
    /// and `identity-host user delete` both come here.
    bool deleteAccount(const std::string& userId, const TokenClaims* sudo);

private:
    void signIn(const sdk::Request& request, sdk::Response& response);
    void refresh(const sdk::Request& request, sdk::Response& response);
    void revoke(const sdk::Request& request, sdk::Response& response);
    void me(const sdk::Request& request, sdk::Response& response);
    void signOut(const sdk::Request& request, sdk::Response& response);
    void sudo(const sdk::Request& request, sdk::Response& response);
    void changePassword(const sdk::Request& request, sdk::Response& response);
    void deleteUser(const sdk::Request& request, sdk::Response& response);
    /// GET /auth/v1/.well-known/jwks.json: the public keys that verify access tokens.
    void keySet(const sdk::Request& request, sdk::Response& response);

    /// New credentials for a session: a fresh access token and the given refresh token.
    void credentials(sdk::Response& response, const std::string& userId, const std::string& sessionId,
                     const std::string& refreshToken) const;

    /// Checks a user's password under the guessing limit: throws 429 while locked, else true when right.
    bool passwordMatches(const User& user, const std::string& password);

    /// Throws 403 unless the request carries (in its body or query) a valid sudo token of its own
    /// session.
    TokenClaims requireSudo(const sdk::Request& request) const;

    Dependencies _d;
};

} // namespace identity::host

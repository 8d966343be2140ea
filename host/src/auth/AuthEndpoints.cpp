#include "auth/AuthEndpoints.h"

#include "storage/Connection.h"

#include "auth/PasswordPolicy.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"
#include "identity/sdk/Service.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

#include <optional>

namespace identity::host
{

using sdk::ApiError;
namespace crypto = sdk::crypto;

namespace
{
/// Empties the session store's principal cache when it goes out of scope: after a unit of work that
/// ends sessions or removes a user has committed, or failed in a way that may still have committed it.
struct ForgetCachedPrincipals
{
    SessionStore& sessions;
    ~ForgetCachedPrincipals() { sessions.forgetCachedPrincipals(); }
};

/// A string field, or "" when absent; a present field of another type is a 4001.
std::string optionalString(const Poco::JSON::Object& body, const std::string& key, const std::string& errorKey)
{
    if (!body.has(key) || body.isNull(key))
        return {};
    if (!body.get(key).isString())
        throw ApiError::invalidArgument(errorKey);
    return body.getValue<std::string>(key);
}

std::string requiredString(const Poco::JSON::Object& body, const std::string& key, const std::string& errorKey)
{
    std::string value = optionalString(body, key, errorKey);
    if (value.empty())
        throw ApiError::invalidArgument(errorKey);
    return value;
}

std::string refreshHash(const std::string& token) { return crypto::toHex(crypto::sha256(token)); }

/// Runs a plugin's hook inside a host unit of work. What it throws is copied into a host type while the
/// registry still holds the plugin loaded: the database's errors stay what they are (503 for an
/// unavailable one, a deadlock one the unit runs again for, a conflict a conflict), anything else is the
/// plugin's failure, named by `what`.
template <typename Hook> void inPluginCode(const char* what, Hook&& hook)
{
    try
    {
        hook();
    }
    catch (const sdk::StorageUnavailable& error)
    {
        throw sdk::StorageUnavailable(error.why());
    }
    catch (const RetryableStorageError& error)
    {
        throw RetryableStorageError(error.what());
    }
    catch (const sdk::StorageConflict& error)
    {
        throw sdk::StorageConflict(error.what());
    }
    catch (const sdk::StorageError& error)
    {
        throw sdk::StorageError(error.what());
    }
    catch (const std::exception& error)
    {
        throw Poco::RuntimeException(std::string(what) + " failed: " + error.what());
    }
    catch (...)
    {
        throw Poco::RuntimeException(std::string(what) + " failed");
    }
}

/// Tells every account event listener of `kind` for `user`, in the unit of work that makes the change.
void tell(sdk::Transaction& transaction, const ServiceRegistry& services, sdk::AccountEvent::Kind kind,
          const User& user, Poco::Int64 timestamp)
{
    sdk::AccountEvent event;
    event.kind = kind;
    event.timestamp = timestamp;
    event.userId = user.id;
    event.username = user.username;
    event.email = user.email;
    event.phoneNumber = user.phoneNumber;
    event.locale = user.locale;
    for (const auto& listener : services.findAll<sdk::AccountEventListener>(sdk::AccountEventListener::prefix))
        inPluginCode("an account event listener", [&] { listener->accountChanged(transaction, event); });
}

void addHostRoute(RouteTable& table, const std::string& method, const std::string& path, sdk::Route::Auth auth,
          sdk::RequestHandler handler)
{
    table.addRoute(sdk::Route{method, path, auth, std::move(handler)}, nullptr);
}
} // namespace

AuthEndpoints::AuthEndpoints(Dependencies dependencies) : _d(dependencies) {}

void AuthEndpoints::addTo(RouteTable& table)
{
    using Auth = sdk::Route::Auth;
    using namespace std::placeholders;
    addHostRoute(table, "POST", "/auth/v1/signin", Auth::None, std::bind(&AuthEndpoints::signIn, this, _1, _2));
    addHostRoute(table, "POST", "/auth/v1/token", Auth::None, std::bind(&AuthEndpoints::refresh, this, _1, _2));
    addHostRoute(table, "POST", "/auth/v1/revoke", Auth::None, std::bind(&AuthEndpoints::revoke, this, _1, _2));
    addHostRoute(table, "GET", "/auth/v1/user/me", Auth::AccessToken, std::bind(&AuthEndpoints::me, this, _1, _2));
    addHostRoute(table, "DELETE", "/auth/v1/user/me", Auth::AccessToken, std::bind(&AuthEndpoints::deleteUser, this, _1, _2));
    addHostRoute(table, "POST", "/auth/v1/user/signout", Auth::AccessToken, std::bind(&AuthEndpoints::signOut, this, _1, _2));
    addHostRoute(table, "POST", "/auth/v1/user/sudo", Auth::AccessToken, std::bind(&AuthEndpoints::sudo, this, _1, _2));
    addHostRoute(table, "PATCH", "/auth/v1/user/password", Auth::AccessToken,
         std::bind(&AuthEndpoints::changePassword, this, _1, _2));
    addHostRoute(table, "GET", "/auth/v1/.well-known/jwks.json", Auth::None,
                 std::bind(&AuthEndpoints::keySet, this, _1, _2));
}

void AuthEndpoints::keySet(const sdk::Request&, sdk::Response& response)
{
    response.body = _d.tokens.keys()->jwks();
    // Public keys, meant to be cached by resource servers and proxies (the one exception to the
    // `no-store` of auth responses); keys are rotated in so that a cached set never misses one.
    response.headers.emplace_back("Cache-Control", "public, max-age=300");
}

void AuthEndpoints::credentials(sdk::Response& response, const std::string& userId, const std::string& sessionId,
                                const std::string& refreshToken) const
{
    response.body->set("token_type", "Bearer");
    response.body->set("access_token", _d.tokens.issueAccessToken(userId, sessionId));
    response.body->set("refresh_token", refreshToken);
    response.body->set("expires_in", _d.tokens.accessTtl());
    response.body->set("sub", userId);
}

void AuthEndpoints::signIn(const sdk::Request& request, sdk::Response& response)
{
    const auto& body = request.body();
    std::string field, login;
    for (const char* candidate : {"username", "email", "phone_number"})
    {
        const std::string value = optionalString(body, candidate, "missing_login");
        if (value.empty())
            continue;
        if (!login.empty())
            throw ApiError::invalidArgument("missing_login");
        field = candidate;
        // One address in any letter case is one name: counted (and locked) as one.
        login = field == "email" ? UserStore::foldEmail(value) : value;
    }
    const std::string password = requiredString(body, "password", "missing_login");
    if (login.empty() || login.size() > 256 || password.size() > 1024)
        throw ApiError::invalidArgument("missing_login");

    // Before anything is read or written for it: attempts per client address, in memory; then a hashing
    // slot, before the name is looked up or a place taken in its counts, so that a sign-in refused for
    // want of one (503) costs no database work, has counted nothing, and cannot lock a name it never
    // checked.
    _d.signInThrottle.admit(PasswordGuard::clientKey(request.clientAddress()));
    std::optional<HashingSlots::Slot> slot(_d.hashing.acquire());

    auto user = _d.users.findByLogin(field, login);
    if (user && user->status != "active")
        user.reset();
    // The same steps whether the name has an account or not, so neither the answers nor their timing
    // tell who exists: the same hashes too, one in each scheme accounts' hashes were made with.
    const PasswordGuard::Attempt attempt =
        _d.passwordGuard.beginSignIn(field, login, request.clientAddress(), user ? user->id : std::string());
    const bool valid = _d.passwords.verifyUniformly(password, user && !attempt.refused ? user->passwordHash : "",
                                                    _d.passwordSchemes.current());
    if (!user || attempt.refused)
    {
        if (user)
        {
            Poco::JSON::Object fields;
            fields.set("reason", "account_locked");
            _d.audit.record("signin_failed", user->id, fields);
        }
        throw ApiError::invalidPassword("invalid_credentials");
    }
    if (!valid)
    {
        Poco::JSON::Object fields;
        fields.set("reason", "wrong_password");
        _d.audit.record("signin_failed", user->id, fields);
        throw ApiError::invalidPassword("invalid_credentials");
    }
    _d.passwordGuard.succeeded(attempt);
    // Made with an older algorithm or cheaper parameters: replaced now, while the password is at hand.
    if (_d.passwords.needsRehash(user->passwordHash))
        _d.users.replacePasswordHash(user->id, user->passwordHash, _d.passwords.hash(password));
    slot.reset();
    const std::string refreshToken = crypto::base64UrlEncode(_d.random.bytes(32));
    const std::string sessionId = _d.sessions.create(user->id, request.clientId(), request.deviceId(),
                                                     refreshHash(refreshToken), _d.clock.now() + _d.refreshTtl);
    Poco::JSON::Object fields;
    fields.set("session_id", sessionId);
    _d.audit.record("signed_in", user->id, fields);
    credentials(response, user->id, sessionId, refreshToken);
}

void AuthEndpoints::refresh(const sdk::Request& request, sdk::Response& response)
{
    if (optionalString(request.body(), "grant_type", "invalid_grant_type") != "refresh_token")
        throw ApiError::invalidArgument("invalid_grant_type");
    const std::string oldToken = requiredString(request.body(), "refresh_token", "invalid_argument");
    const std::string newToken = crypto::base64UrlEncode(_d.random.bytes(32));
    bool reused = false;
    const auto session = _d.sessions.rotateRefresh(refreshHash(oldToken), refreshHash(newToken),
                                                   _d.clock.now() + _d.refreshTtl, reused);
    if (reused)
    {
        Poco::JSON::Object fields;
        fields.set("reason", "refresh_token_reused");
        _d.audit.record("session_revoked", "", fields);
    }
    if (!session)
        throw ApiError::unauthenticated("invalid_refresh_token");
    credentials(response, session->second, session->first, newToken);
}

void AuthEndpoints::revoke(const sdk::Request& request, sdk::Response& response)
{
    const std::string token = requiredString(request.body(), "token", "invalid_argument");
    // RFC 7009: an unknown token is not an error; the answer is the same either way.
    TokenClaims claims;
    if (_d.tokens.tryReadOwnAccessToken(token, claims))
        _d.sessions.revoke(claims.sessionId);
    else if (auto sessionId = _d.sessions.sessionOfRefresh(refreshHash(token)))
        _d.sessions.revoke(*sessionId);
}

void AuthEndpoints::me(const sdk::Request& request, sdk::Response& response)
{
    const auto user = _d.users.findById(request.principal()->userId);
    if (!user)
        throw ApiError::unauthenticated();
    response.body->set("sub", user->id);
    response.body->set("username", user->username);
    response.body->set("email", user->email);
    response.body->set("phone_number", user->phoneNumber);
    response.body->set("locale", user->locale);
    response.body->set("created_at", Poco::DateTimeFormatter::format(Poco::Timestamp::fromEpochTime(user->createdAt),
                                                                     Poco::DateTimeFormat::ISO8601_FORMAT));
}

void AuthEndpoints::signOut(const sdk::Request& request, sdk::Response& response)
{
    _d.sessions.revoke(request.principal()->sessionId);
    _d.audit.record("signed_out", request.principal()->userId, Poco::JSON::Object());
}

void AuthEndpoints::sudo(const sdk::Request& request, sdk::Response& response)
{
    const auto& body = request.body();
    const sdk::Principal& principal = *request.principal();
    const std::string password = optionalString(body, "password", "sudo_method");
    const std::string code = optionalString(body, "verification_code", "sudo_method");
    if (password.empty() == code.empty())
        throw ApiError::invalidArgument("sudo_method");

    Poco::JSON::Object fields;
    if (!password.empty())
    {
        // Paced per client address as sign-ins are: several accounts' tokens at one address must not
        // keep the hashing slots busy for everyone.
        _d.signInThrottle.admit(PasswordGuard::clientKey(request.clientAddress()));
        const auto user = _d.users.findById(principal.userId);
        if (!user || !passwordMatches(*user, password))
            throw ApiError::invalidPassword();
        fields.set("method", "password");
    }
    else
    {
        // Hold the registry (and with it the plugin) while its verifier runs.
        const auto services = _d.services.current();
        const auto verifier = services->find<sdk::CodeVerifier>(sdk::CodeVerifier::serviceName);
        if (!verifier)
            throw ApiError::unavailable("verifier_unavailable");
        try
        {
            verifier->verify(principal, code, request);
        }
        catch (const ApiError&)
        {
            throw; // the SDK's type: its code is not the plugin's
        }
        catch (const std::exception& error)
        {
            // Copied into a host type while the registry still holds the plugin loaded.
            throw Poco::RuntimeException(std::string("code verifier failed: ") + error.what());
        }
        catch (...)
        {
            throw Poco::RuntimeException("code verifier failed");
        }
        fields.set("method", "verification_code");
    }
    _d.audit.record("sudo_granted", principal.userId, fields);
    response.body->set("sudo_token", _d.tokens.issueSudoToken(principal.userId, principal.sessionId));
    response.body->set("expires_in", _d.tokens.sudoTtl());
}

bool AuthEndpoints::passwordMatches(const User& user, const std::string& password)
{
    std::optional<HashingSlots::Slot> slot(_d.hashing.acquire()); // before a place is taken, as for sign-in
    const PasswordGuard::Attempt attempt = _d.passwordGuard.beginCheck(user.id);
    if (!_d.passwords.verify(password, user.passwordHash))
        return false; // counted already
    slot.reset();
    _d.passwordGuard.succeeded(attempt);
    return true;
}

TokenClaims AuthEndpoints::requireSudo(const sdk::Request& request) const
{
    std::string token = optionalString(request.body(), "sudo_token", "invalid_argument");
    if (token.empty())
        token = request.query("sudo_token");
    if (token.empty())
        throw ApiError::permissionDenied("invalid_sudo_token");
    const TokenClaims claims = _d.tokens.verifySudoToken(token);
    const sdk::Principal& principal = *request.principal();
    if (claims.userId != principal.userId || claims.sessionId != principal.sessionId)
        throw ApiError::permissionDenied("invalid_sudo_token");
    return claims;
}

void AuthEndpoints::changePassword(const sdk::Request& request, sdk::Response& response)
{
    const auto& body = request.body();
    const sdk::Principal& principal = *request.principal();
    const std::string newPassword = requiredString(body, "new_password", "missing_new_password");
    const std::string oldPassword = optionalString(body, "old_password", "invalid_argument");
    const bool hasSudoToken = !optionalString(body, "sudo_token", "invalid_argument").empty() ||
                              !request.query("sudo_token").empty();
    std::optional<TokenClaims> sudo;
    if (hasSudoToken || oldPassword.empty())
        sudo = requireSudo(request);
    // An old password sent along is checked too, also beside a sudo token: a wrong one is refused, never
    // ignored.
    if (!oldPassword.empty())
    {
        _d.signInThrottle.admit(PasswordGuard::clientKey(request.clientAddress())); // as for sudo
        const auto user = _d.users.findById(principal.userId);
        if (!user || !passwordMatches(*user, oldPassword))
            throw ApiError::invalidPassword();
    }
    if (!PasswordPolicy::accepts(newPassword))
        throw ApiError::weakPassword();

    const std::string hash = [&] {
        const HashingSlots::Slot slot = _d.hashing.acquire();
        return _d.passwords.hash(newPassword);
    }();
    const auto services = _d.services.current();
    const ForgetCachedPrincipals forget{_d.sessions}; // once the change is in (or may be)
    _d.storage.write([&](sdk::Transaction& transaction) {
        if (sudo) // spent with the change it authorises: a replay, or a second change, is refused
            _d.sessions.spendSudoToken(transaction, sudo->tokenId, sudo->expiresAt);
        _d.users.setPasswordHash(transaction, principal.userId, hash);
        _d.sessions.revokeOthers(transaction, principal.userId, principal.sessionId);
        // The notice goes out with the change or not at all.
        if (const auto user = _d.users.find(transaction, principal.userId))
            tell(transaction, *services, sdk::AccountEvent::Kind::PasswordChanged, *user, _d.clock.now());
    });
    _d.audit.record("password_changed", principal.userId, Poco::JSON::Object());
}

void AuthEndpoints::deleteUser(const sdk::Request& request, sdk::Response& response)
{
    const TokenClaims sudo = requireSudo(request);
    deleteAccount(request.principal()->userId, &sudo);
}

bool AuthEndpoints::deleteAccount(const std::string& userId, const TokenClaims* sudo)
{
    const auto services = _d.services.current();
    const ForgetCachedPrincipals forget{_d.sessions}; // once the deletion is in (or may be)
    bool deleted = false;
    _d.storage.write([&](sdk::Transaction& transaction) {
        // First: a plugin's unit that writes about this user waits, then finds the account gone.
        transaction.lock(sdk::userLockKey(userId));
        if (sudo)
            _d.sessions.spendSudoToken(transaction, sudo->tokenId, sudo->expiresAt);
        const auto user = _d.users.find(transaction, userId);
        deleted = user.has_value();
        if (!user)
            return; // deleted a moment ago
        for (const auto& owner : services->findAll<sdk::UserDataOwner>(sdk::UserDataOwner::prefix))
            inPluginCode("erasing a user's plugin data", [&] { owner->eraseUser(transaction, userId); });
        _d.sessions.removeAll(transaction, userId);
        _d.passwordGuard.forget(transaction, userId);
        _d.users.remove(transaction, userId);
        tell(transaction, *services, sdk::AccountEvent::Kind::AccountDeleted, *user, _d.clock.now());
    });
    if (deleted)
        _d.audit.record("user_deleted", userId, Poco::JSON::Object());
    return deleted;
}

} // namespace identity::host

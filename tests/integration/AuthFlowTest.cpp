// The host's own endpoints: sign-in, refresh, revoke, sign-out, me, sudo, password change, deletion.
#include "support/TestServer.h"

#include "auth/SessionStore.h"

#include <cppunit/extensions/HelperMacros.h>

#include <chrono>

using namespace identity;
using namespace identity::test;

class AuthFlowTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(AuthFlowTest);
    CPPUNIT_TEST(testSignInByUsernameEmailOrPhone);
    CPPUNIT_TEST(testWrongPasswordAndUnknownUserLookAlike);
    CPPUNIT_TEST(testSignInNeedsExactlyOneLoginAndAPassword);
    CPPUNIT_TEST(testRefreshRotatesTheRefreshToken);
    CPPUNIT_TEST(testSignOutRevokesTheSession);
    CPPUNIT_TEST(testRevokeEndsTheSessionOfAnyOfItsTokens);
    CPPUNIT_TEST(testSessionEndedByAnotherInstanceIsRefusedWithinASecond);
    CPPUNIT_TEST(testMeDescribesTheUser);
    CPPUNIT_TEST(testSudoByPassword);
    CPPUNIT_TEST(testSudoNeedsExactlyOneMethod);
    CPPUNIT_TEST(testPasswordChangeWithSudoTokenRevokesOtherSessions);
    CPPUNIT_TEST(testPasswordChangeRefusesWeakPasswords);
    CPPUNIT_TEST(testPasswordChangeNeedsSudoOrOldPassword);
    CPPUNIT_TEST(testWrongOldPasswordBesideASudoTokenIsRefused);
    CPPUNIT_TEST(testSudoTokenIsSpentByTheChangeItAuthorises);
    CPPUNIT_TEST(testSudoTokenOfAnotherSessionOrExpiredIsRefused);
    CPPUNIT_TEST(testDeleteUserWithSudoTokenInQuery);
    CPPUNIT_TEST(testReusedRefreshTokenEndsTheSession);
    CPPUNIT_TEST(testTenWrongPasswordsLockPasswordChecks);
    CPPUNIT_TEST(testUnknownNamesLockLikeAccounts);
    CPPUNIT_TEST(testPruningDropsEndedSessionsAndQuietUnknownNames);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _server = std::make_unique<TestServer>();
        _userId = _server->createUser("alice", "alice@example.com", "+8613800138000");
    }

    void tearDown() override { _server.reset(); }

    std::string sudoToken(const std::string& accessToken, const std::string& password = "Correct-Horse-9")
    {
        const HttpResult result = _server->post("/auth/v1/user/sudo", "{\"password\":\"" + password + "\"}", accessToken);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(result.body, 200, result.status);
        CPPUNIT_ASSERT_EQUAL(900, result.json->getValue<int>("expires_in"));
        recordSecret(result.string("sudo_token"));
        return result.string("sudo_token");
    }

    HttpResult changePassword(const std::string& accessToken, const std::string& body)
    {
        return _server->request("PATCH", "/auth/v1/user/password", body, {{"Authorization", "Bearer " + accessToken}});
    }

    void testSignInByUsernameEmailOrPhone()
    {
        for (const char* body : {"{\"username\":\"alice\",\"password\":\"Correct-Horse-9\"}",
                                 "{\"email\":\"alice@example.com\",\"password\":\"Correct-Horse-9\"}",
                                 "{\"phone_number\":\"+8613800138000\",\"password\":\"Correct-Horse-9\"}"})
        {
            const HttpResult result = _server->post("/auth/v1/signin", body);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(result.body, 200, result.status);
            recordSecret(result.string("access_token"));
            recordSecret(result.string("refresh_token"));
            CPPUNIT_ASSERT_EQUAL(_userId, result.string("sub"));
            CPPUNIT_ASSERT_EQUAL(std::string("Bearer"), result.string("token_type"));
            CPPUNIT_ASSERT(!result.string("refresh_token").empty());
        }
    }

    void testWrongPasswordAndUnknownUserLookAlike()
    {
        const HttpResult wrong = _server->post("/auth/v1/signin", "{\"username\":\"alice\",\"password\":\"Wrong-Horse-9\"}");
        const HttpResult unknown = _server->post("/auth/v1/signin", "{\"username\":\"bob\",\"password\":\"Wrong-Horse-9\"}");
        CPPUNIT_ASSERT_EQUAL(401, wrong.status);
        CPPUNIT_ASSERT_EQUAL(4003, wrong.errorCode());
        CPPUNIT_ASSERT_EQUAL(wrong.body, unknown.body);
    }

    void testSignInNeedsExactlyOneLoginAndAPassword()
    {
        for (const char* body : {"{}", "{\"username\":\"alice\"}", "{\"password\":\"Correct-Horse-9\"}",
                                 "{\"username\":\"alice\",\"email\":\"alice@example.com\",\"password\":\"x\"}",
                                 "{\"username\":42,\"password\":\"Correct-Horse-9\"}",
                                 "{\"username\":\"alice\",\"password\":[1]}"})
        {
            const HttpResult result = _server->post("/auth/v1/signin", body);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(body, 400, result.status);
            CPPUNIT_ASSERT_EQUAL(4001, result.errorCode());
        }
    }

    void testRefreshRotatesTheRefreshToken()
    {
        const HttpResult signIn = _server->post("/auth/v1/signin", "{\"username\":\"alice\",\"password\":\"Correct-Horse-9\"}");
        const std::string refresh = signIn.string("refresh_token");
        recordSecret(refresh);
        recordSecret(signIn.string("access_token"));
        const HttpResult renewed =
            _server->post("/auth/v1/token", "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"" + refresh + "\"}");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(renewed.body, 200, renewed.status);
        recordSecret(renewed.string("refresh_token"));
        recordSecret(renewed.string("access_token"));
        CPPUNIT_ASSERT(renewed.string("refresh_token") != refresh);
        CPPUNIT_ASSERT_EQUAL(200, _server->request("GET", "/auth/v1/user/me", "",
                                                   {{"Authorization", "Bearer " + renewed.string("access_token")}})
                                      .status);
        const HttpResult reused =
            _server->post("/auth/v1/token", "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"" + refresh + "\"}");
        CPPUNIT_ASSERT_EQUAL(401, reused.status);
        CPPUNIT_ASSERT_EQUAL(4010, reused.errorCode());
        const HttpResult badGrant = _server->post("/auth/v1/token", "{\"grant_type\":\"password\"}");
        CPPUNIT_ASSERT_EQUAL(4001, badGrant.errorCode());
    }

    void testSignOutRevokesTheSession()
    {
        const std::string token = _server->signIn("alice");
        // Used first: the session's check is cached, and what ends the session here must end that too.
        CPPUNIT_ASSERT_EQUAL(200, _server->request("GET", "/auth/v1/user/me", "", {{"Authorization", "Bearer " + token}}).status);
        CPPUNIT_ASSERT_EQUAL(200, _server->post("/auth/v1/user/signout", "", token).status);
        const HttpResult after = _server->request("GET", "/auth/v1/user/me", "", {{"Authorization", "Bearer " + token}});
        CPPUNIT_ASSERT_EQUAL(401, after.status);
        CPPUNIT_ASSERT_EQUAL(4010, after.errorCode());
    }

    void testRevokeEndsTheSessionOfAnyOfItsTokens()
    {
        const std::string token = _server->signIn("alice");
        // Used first: the session's check is cached, and what ends the session here must end that too.
        CPPUNIT_ASSERT_EQUAL(200, _server->request("GET", "/auth/v1/user/me", "", {{"Authorization", "Bearer " + token}}).status);
        CPPUNIT_ASSERT_EQUAL(200, _server->post("/auth/v1/revoke", "{\"token\":\"" + token + "\"}").status);
        CPPUNIT_ASSERT_EQUAL(401, _server->request("GET", "/auth/v1/user/me", "", {{"Authorization", "Bearer " + token}}).status);
        // Unknown tokens are not an error (RFC 7009).
        CPPUNIT_ASSERT_EQUAL(200, _server->post("/auth/v1/revoke", "{\"token\":\"nonsense\"}").status);
        CPPUNIT_ASSERT_EQUAL(400, _server->post("/auth/v1/revoke", "{}").status);
    }

    void testSessionEndedByAnotherInstanceIsRefusedWithinASecond()
    {
        const std::string token = _server->signIn("alice");
        auto me = [&] {
            return _server->request("GET", "/auth/v1/user/me", "", {{"Authorization", "Bearer " + token}}).status;
        };
        CPPUNIT_ASSERT_EQUAL(200, me());
        // Revoked in the database, as another instance (or process) would: this one holds the session's
        // check for at most a second.
        const auto revokedAt = std::chrono::steady_clock::now();
        _server->server().database().write([&](sdk::Transaction& transaction) {
            transaction.execute("UPDATE sessions SET revoked_at = 1");
        });
        CPPUNIT_ASSERT(waitFor([&] { return me() == 401; }, 5));
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - revokedAt).count();
        CPPUNIT_ASSERT_MESSAGE(std::to_string(seconds) + " s",
                               seconds <= std::chrono::duration<double>(host::SessionStore::principalCacheFor).count() + 0.5);
        CPPUNIT_ASSERT_EQUAL(401, me());
    }

    void testMeDescribesTheUser()
    {
        const std::string token = _server->signIn("alice");
        const HttpResult me = _server->request("GET", "/auth/v1/user/me", "", {{"Authorization", "Bearer " + token}});
        CPPUNIT_ASSERT_EQUAL(200, me.status);
        CPPUNIT_ASSERT_EQUAL(_userId, me.string("sub"));
        CPPUNIT_ASSERT_EQUAL(std::string("alice"), me.string("username"));
        CPPUNIT_ASSERT_EQUAL(std::string("alice@example.com"), me.string("email"));
        CPPUNIT_ASSERT_EQUAL(std::string("+8613800138000"), me.string("phone_number"));
        CPPUNIT_ASSERT(me.body.find("password") == std::string::npos);
    }

    void testSudoByPassword()
    {
        const std::string token = _server->signIn("alice");
        sudoToken(token);
        const HttpResult wrong = _server->post("/auth/v1/user/sudo", "{\"password\":\"Wrong-Horse-9\"}", token);
        CPPUNIT_ASSERT_EQUAL(401, wrong.status);
        CPPUNIT_ASSERT_EQUAL(4003, wrong.errorCode());
    }

    void testSudoNeedsExactlyOneMethod()
    {
        const std::string token = _server->signIn("alice");
        for (const char* body : {"{}", "{\"password\":\"Correct-Horse-9\",\"verification_code\":\"123456\"}",
                                 "{\"password\":123}", "{\"verification_code\":123456}"})
        {
            const HttpResult result = _server->post("/auth/v1/user/sudo", body, token);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(body, 400, result.status);
            CPPUNIT_ASSERT_EQUAL(4001, result.errorCode());
        }
    }

    void testPasswordChangeWithSudoTokenRevokesOtherSessions()
    {
        const std::string token = _server->signIn("alice");
        const std::string other = _server->signIn("alice");
        CPPUNIT_ASSERT_EQUAL(200, _server->request("GET", "/auth/v1/user/me", "", {{"Authorization", "Bearer " + other}}).status);
        const std::string sudo = sudoToken(token);
        recordSecret("New-Password-7");
        const HttpResult changed =
            changePassword(token, "{\"new_password\":\"New-Password-7\",\"sudo_token\":\"" + sudo + "\"}");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(changed.body, 200, changed.status);
        CPPUNIT_ASSERT_EQUAL(std::string("{}"), changed.body);
        CPPUNIT_ASSERT_EQUAL(401, _server->request("GET", "/auth/v1/user/me", "", {{"Authorization", "Bearer " + other}}).status);
        CPPUNIT_ASSERT_EQUAL(200, _server->request("GET", "/auth/v1/user/me", "", {{"Authorization", "Bearer " + token}}).status);
        CPPUNIT_ASSERT_EQUAL(401, _server->post("/auth/v1/signin", "{\"username\":\"alice\",\"password\":\"Correct-Horse-9\"}").status);
        _server->signIn("alice", "New-Password-7");
    }

    void testPasswordChangeRefusesWeakPasswords()
    {
        const std::string token = _server->signIn("alice");
        const std::string sudo = sudoToken(token);
        for (const char* weak : {"Sh0rt!", "alllowercase1!", "NoDigits!!", "NoSymbol123"})
        {
            const std::string candidate = weak;
            const HttpResult result =
                changePassword(token, "{\"new_password\":\"" + candidate + "\",\"sudo_token\":\"" + sudo + "\"}");
            CPPUNIT_ASSERT_EQUAL_MESSAGE(candidate, 400, result.status);
            CPPUNIT_ASSERT_EQUAL(4005, result.errorCode());
        }
        _server->signIn("alice"); // unchanged
    }

    void testWrongOldPasswordBesideASudoTokenIsRefused()
    {
        const std::string token = _server->signIn("alice");
        const std::string sudo = sudoToken(token);
        recordSecret("New-Password-7");
        const HttpResult refused = changePassword(
            token, "{\"new_password\":\"New-Password-7\",\"old_password\":\"Wrong-Horse-9\",\"sudo_token\":\"" + sudo + "\"}");
        CPPUNIT_ASSERT_EQUAL(401, refused.status);
        CPPUNIT_ASSERT_EQUAL(4003, refused.errorCode());
        _server->signIn("alice"); // unchanged
        const HttpResult changed = changePassword(
            token, "{\"new_password\":\"New-Password-7\",\"old_password\":\"Correct-Horse-9\",\"sudo_token\":\"" + sudo + "\"}");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(changed.body, 200, changed.status);
        _server->signIn("alice", "New-Password-7");
    }

    void testSudoTokenIsSpentByTheChangeItAuthorises()
    {
        const std::string token = _server->signIn("alice");
        const std::string sudo = sudoToken(token);
        recordSecret("New-Password-7");
        recordSecret("Newer-Password-8");
        // A change refused before it is made (a weak password) spends nothing.
        CPPUNIT_ASSERT_EQUAL(400, changePassword(token, "{\"new_password\":\"weak\",\"sudo_token\":\"" + sudo + "\"}").status);
        const HttpResult changed =
            changePassword(token, "{\"new_password\":\"New-Password-7\",\"sudo_token\":\"" + sudo + "\"}");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(changed.body, 200, changed.status);
        // The same token again, for another change or a deletion, within its 900 s: refused.
        const HttpResult replayed =
            changePassword(token, "{\"new_password\":\"Newer-Password-8\",\"sudo_token\":\"" + sudo + "\"}");
        CPPUNIT_ASSERT_EQUAL(403, replayed.status);
        CPPUNIT_ASSERT_EQUAL(4030, replayed.errorCode());
        CPPUNIT_ASSERT_EQUAL(403, _server->request("DELETE", "/auth/v1/user/me?sudo_token=" + sudo, "",
                                                   {{"Authorization", "Bearer " + token}})
                                      .status);
        _server->signIn("alice", "New-Password-7"); // the replay changed nothing
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM users"));
        // Expired, it stays recorded an hour (instances' clocks may differ); then pruning drops it.
        _server->clock().advanceSeconds(901);
        _server->server().prune();
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM spent_sudo_tokens"));
        _server->clock().advanceSeconds(3600);
        _server->server().prune();
        CPPUNIT_ASSERT_EQUAL(0LL, _server->queryInt("SELECT COUNT(*) FROM spent_sudo_tokens"));
    }

    void testPasswordChangeNeedsSudoOrOldPassword()
    {
        const std::string token = _server->signIn("alice");
        const HttpResult none = changePassword(token, "{\"new_password\":\"New-Password-7\"}");
        CPPUNIT_ASSERT_EQUAL(403, none.status);
        CPPUNIT_ASSERT_EQUAL(4030, none.errorCode());
        const HttpResult garbage = changePassword(token, "{\"new_password\":\"New-Password-7\",\"sudo_token\":\"x.y.z\"}");
        CPPUNIT_ASSERT_EQUAL(403, garbage.status);
        const HttpResult wrongOld =
            changePassword(token, "{\"new_password\":\"New-Password-7\",\"old_password\":\"Wrong-Horse-9\"}");
        CPPUNIT_ASSERT_EQUAL(401, wrongOld.status);
        CPPUNIT_ASSERT_EQUAL(4003, wrongOld.errorCode());
        const HttpResult missing = changePassword(token, "{\"old_password\":\"Correct-Horse-9\"}");
        CPPUNIT_ASSERT_EQUAL(400, missing.status);
        CPPUNIT_ASSERT_EQUAL(4001, missing.errorCode());
        recordSecret("New-Password-7");
        const HttpResult rightOld =
            changePassword(token, "{\"new_password\":\"New-Password-7\",\"old_password\":\"Correct-Horse-9\"}");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(rightOld.body, 200, rightOld.status);
    }

    void testSudoTokenOfAnotherSessionOrExpiredIsRefused()
    {
        const std::string token = _server->signIn("alice");
        const std::string other = _server->signIn("alice");
        const std::string sudo = sudoToken(other);
        const HttpResult foreign =
            changePassword(token, "{\"new_password\":\"New-Password-7\",\"sudo_token\":\"" + sudo + "\"}");
        CPPUNIT_ASSERT_EQUAL(403, foreign.status);
        CPPUNIT_ASSERT_EQUAL(4030, foreign.errorCode());
        // A sudo token is not an access token.
        CPPUNIT_ASSERT_EQUAL(401, _server->request("GET", "/auth/v1/user/me", "", {{"Authorization", "Bearer " + sudo}}).status);
        const std::string own = sudoToken(token);
        _server->clock().advanceSeconds(901);
        const HttpResult expired =
            changePassword(token, "{\"new_password\":\"New-Password-7\",\"sudo_token\":\"" + own + "\"}");
        CPPUNIT_ASSERT_EQUAL(403, expired.status);
    }

    void testDeleteUserWithSudoTokenInQuery()
    {
        const std::string token = _server->signIn("alice");
        const HttpResult refused =
            _server->request("DELETE", "/auth/v1/user/me", "", {{"Authorization", "Bearer " + token}});
        CPPUNIT_ASSERT_EQUAL(403, refused.status);
        _server->requestCode(token); // leaves a code and an outbox row behind
        const std::string sudo = sudoToken(token);
        const HttpResult deleted = _server->request("DELETE", "/auth/v1/user/me?sudo_token=" + sudo, "",
                                                    {{"Authorization", "Bearer " + token}});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(deleted.body, 200, deleted.status);
        CPPUNIT_ASSERT_EQUAL(401, _server->request("GET", "/auth/v1/user/me", "", {{"Authorization", "Bearer " + token}}).status);
        CPPUNIT_ASSERT_EQUAL(401, _server->post("/auth/v1/signin", "{\"username\":\"alice\",\"password\":\"Correct-Horse-9\"}").status);
        CPPUNIT_ASSERT_EQUAL(0LL, _server->queryInt("SELECT COUNT(*) FROM users"));
        CPPUNIT_ASSERT_EQUAL(0LL, _server->queryInt("SELECT COUNT(*) FROM sessions"));
        CPPUNIT_ASSERT_EQUAL(0LL, _server->queryInt("SELECT COUNT(*) FROM verification_codes"));
        CPPUNIT_ASSERT_EQUAL(0LL, _server->queryInt("SELECT COUNT(*) FROM outbox"));
        // No foreign key into the host's tables: the plugin's own hook erased its rows.
        CPPUNIT_ASSERT_EQUAL(0LL, _server->queryInt("SELECT COUNT(*) FROM send_events"));
    }

    void testReusedRefreshTokenEndsTheSession()
    {
        const HttpResult signIn =
            _server->post("/auth/v1/signin", "{\"username\":\"alice\",\"password\":\"Correct-Horse-9\"}");
        const std::string first = signIn.string("refresh_token");
        recordSecret(first);
        recordSecret(signIn.string("access_token"));
        const HttpResult renewed =
            _server->post("/auth/v1/token", "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"" + first + "\"}");
        CPPUNIT_ASSERT_EQUAL(200, renewed.status);
        recordSecret(renewed.string("refresh_token"));
        recordSecret(renewed.string("access_token"));
        // Used first, so the session's check is cached: the reuse below must end that too.
        CPPUNIT_ASSERT_EQUAL(200, _server->request("GET", "/auth/v1/user/me", "",
                                                   {{"Authorization", "Bearer " + renewed.string("access_token")}})
                                      .status);
        // The exchanged token comes back: it leaked. The session ends, for its newest tokens too.
        CPPUNIT_ASSERT_EQUAL(401, _server->post("/auth/v1/token", "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"" +
                                                                       first + "\"}").status);
        CPPUNIT_ASSERT_EQUAL(401, _server->request("GET", "/auth/v1/user/me", "",
                                                   {{"Authorization", "Bearer " + renewed.string("access_token")}})
                                      .status);
        CPPUNIT_ASSERT_EQUAL(401, _server->post("/auth/v1/token", "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"" +
                                                                       renewed.string("refresh_token") + "\"}").status);
    }

    void testTenWrongPasswordsLockPasswordChecks()
    {
        for (int i = 0; i < 10; ++i)
            CPPUNIT_ASSERT_EQUAL(401, _server->post("/auth/v1/signin", "{\"username\":\"alice\",\"password\":\"Wrong-Horse-9\"}").status);
        const HttpResult locked =
            _server->post("/auth/v1/signin", "{\"username\":\"alice\",\"password\":\"Correct-Horse-9\"}");
        CPPUNIT_ASSERT_EQUAL(429, locked.status);
        CPPUNIT_ASSERT_EQUAL(4290, locked.errorCode());
        CPPUNIT_ASSERT_EQUAL(std::string("900"), locked.headers.get("Retry-After", ""));
        _server->clock().advanceSeconds(900);
        _server->signIn("alice");
    }

    void testUnknownNamesLockLikeAccounts()
    {
        // Were only accounts locked, a 429 would tell that the name exists.
        for (int i = 0; i < 10; ++i)
            CPPUNIT_ASSERT_EQUAL(401, _server->post("/auth/v1/signin", "{\"username\":\"nobody\",\"password\":\"Wrong-Horse-9\"}").status);
        const HttpResult locked = _server->post("/auth/v1/signin", "{\"username\":\"nobody\",\"password\":\"Wrong-Horse-9\"}");
        CPPUNIT_ASSERT_EQUAL(429, locked.status);
        CPPUNIT_ASSERT_EQUAL(std::string("900"), locked.headers.get("Retry-After", ""));
    }

    void testPruningDropsEndedSessionsAndQuietUnknownNames()
    {
        const std::string ended = _server->signIn("alice");
        CPPUNIT_ASSERT_EQUAL(200, _server->post("/auth/v1/user/signout", "", ended).status);
        // A flood of random names: one row each.
        for (int i = 0; i < 5; ++i)
            CPPUNIT_ASSERT_EQUAL(401, _server->post("/auth/v1/signin", "{\"username\":\"random-" + std::to_string(i) +
                                                                            "\",\"password\":\"Wrong-Horse-9\"}")
                                          .status);
        CPPUNIT_ASSERT_EQUAL(5LL, _server->queryInt("SELECT COUNT(*) FROM password_failures"));
        _server->clock().advanceSeconds(901); // one lock period later
        for (int i = 0; i < 10; ++i)
            _server->post("/auth/v1/signin", "{\"username\":\"locked\",\"password\":\"Wrong-Horse-9\"}");
        const std::string live = _server->signIn("alice");

        _server->server().prune();
        // The quiet rows went; the locked name stays locked; the ended session is kept an hour.
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM password_failures"));
        CPPUNIT_ASSERT_EQUAL(429, _server->post("/auth/v1/signin", "{\"username\":\"locked\",\"password\":\"x\"}").status);
        CPPUNIT_ASSERT_EQUAL(2LL, _server->queryInt("SELECT COUNT(*) FROM sessions"));

        _server->clock().advanceSeconds(3600);
        _server->server().prune();
        CPPUNIT_ASSERT_EQUAL(0LL, _server->queryInt("SELECT COUNT(*) FROM password_failures"));
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM sessions"));
        CPPUNIT_ASSERT_EQUAL(200, _server->request("GET", "/auth/v1/user/me", "", {{"Authorization", "Bearer " + live}}).status);
    }

private:
    std::unique_ptr<TestServer> _server;
    std::string _userId;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(AuthFlowTest, "AuthFlowTest");

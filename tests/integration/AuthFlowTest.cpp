// The host's own endpoints: sign-in, refresh, revoke, sign-out, me, sudo, password change, deletion.
#include "support/TestServer.h"

#include "app/HostAuditLog.h"
#include "auth/PasswordGuard.h"
#include "auth/PasswordHasher.h"
#include "auth/PasswordSchemes.h"
#include "auth/SessionStore.h"
#include "support/SystemRandom.h"
#include "identity/sdk/Crypto.h"
#include "identity/sdk/Storage.h"

#include <Poco/Exception.h>

#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <set>
#include <thread>

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
    CPPUNIT_TEST(testFortyParallelWrongPasswordsHashExactlyTen);
    CPPUNIT_TEST(testSignInsPerAddressAreThrottledBeforeAnythingElse);
    CPPUNIT_TEST(testSignInsBeyondTheHashingSlotsAre503AndCountNoFailure);
    CPPUNIT_TEST(testALockLocksOutOnlyTheClientThatGuessed);
    CPPUNIT_TEST(testALockTellsNothingAboutWhichNamesAreOneAccount);
    CPPUNIT_TEST(testAnIpv6ClientIsCountedByItsSlash64);
    CPPUNIT_TEST(testEachLockOfACountLastsTwiceTheOneBefore);
    CPPUNIT_TEST(testGuessingFromManyAddressesLocksOutUnknownClientsOnly);
    CPPUNIT_TEST(testSudoPasswordGuessesLockSudo);
    CPPUNIT_TEST(testPbkdf2HashIsReplacedByArgon2idAtSignIn);
    CPPUNIT_TEST(testEverySignInSpendsOneHashOfEachSchemeInUse);
    CPPUNIT_TEST(testAFarCostlierSchemeIsNotSpentByEverySignIn);
    CPPUNIT_TEST(testClientsAndNamesAreKeptUnderTheRecordKey);
    CPPUNIT_TEST(testAnotherRecordKeyOnTheDatabaseIsReported);
    CPPUNIT_TEST(testAnEmailAddressIsOneAccountInAnyLetterCase);
    CPPUNIT_TEST(testAnEmailAddressIsOneSignInNameInAnyLetterCase);
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
        // Of the outbox, only the deletion's notice to the address that was the account's.
        CPPUNIT_ASSERT_EQUAL(0LL, _server->queryInt("SELECT COUNT(*) FROM outbox WHERE kind <> 'account_deleted'"));
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM outbox WHERE kind = 'account_deleted'"));
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

    HttpResult signInFrom(TestServer& server, const std::string& address, const std::string& body)
    {
        const HttpResult result = server.request("POST", "/auth/v1/signin", body, {{"X-Forwarded-For", address}});
        recordSecret(result.string("access_token"));
        recordSecret(result.string("refresh_token"));
        return result;
    }

    static Overrides behindProxy(Overrides overrides = {})
    {
        overrides["server.trusted_proxies[0]"] = "127.0.0.1";
        return overrides;
    }

    static std::string aliceWith(const std::string& password)
    {
        return "{\"username\":\"alice\",\"password\":\"" + password + "\"}";
    }

    void testFortyParallelWrongPasswordsHashExactlyTen()
    {
        // Each check takes its place in the count before it hashes: the race that let all 40 be hashed
        // against a limit of 10 is gone. A 401 comes only after a hash.
        std::atomic<int> refused{0}, limited{0}, other{0};
        std::vector<std::thread> threads;
        for (int i = 0; i < 40; ++i)
            threads.emplace_back([&] {
                const int status = _server->post("/auth/v1/signin", aliceWith("Wrong-Horse-9")).status;
                (status == 401 ? refused : status == 429 ? limited : other)++;
            });
        for (auto& thread : threads)
            thread.join();
        CPPUNIT_ASSERT_EQUAL(0, other.load());
        CPPUNIT_ASSERT_EQUAL(10, refused.load());
        CPPUNIT_ASSERT_EQUAL(30, limited.load());
        CPPUNIT_ASSERT_EQUAL(429, _server->post("/auth/v1/signin", aliceWith("Correct-Horse-9")).status);
    }

    void testSignInsPerAddressAreThrottledBeforeAnythingElse()
    {
        TestServer server(behindProxy({{"passwords.signins_per_minute", "6"}, {"passwords.signin_burst", "3"}}));
        server.createUser("dave", "dave@example.com", "+8613800138001");
        const std::string flooder = "203.0.113.9";
        // Right or wrong, three go through; the fourth is refused before the name is even looked up.
        CPPUNIT_ASSERT_EQUAL(200, signInFrom(server, flooder, "{\"username\":\"dave\",\"password\":\"Correct-Horse-9\"}").status);
        CPPUNIT_ASSERT_EQUAL(401, signInFrom(server, flooder, "{\"username\":\"dave\",\"password\":\"Wrong-Horse-9\"}").status);
        CPPUNIT_ASSERT_EQUAL(401, signInFrom(server, flooder, "{\"username\":\"nobody\",\"password\":\"Wrong-Horse-9\"}").status);
        const HttpResult throttled = signInFrom(server, flooder, "{\"username\":\"dave\",\"password\":\"Correct-Horse-9\"}");
        CPPUNIT_ASSERT_EQUAL(429, throttled.status);
        CPPUNIT_ASSERT_EQUAL(4290, throttled.errorCode());
        // 6 a minute: the next token in 10 s.
        CPPUNIT_ASSERT_EQUAL(std::string("10"), throttled.headers.get("Retry-After", ""));
        // Another address, and an IPv6 client of another /64, are not held back by it; one of the same /64 is.
        CPPUNIT_ASSERT_EQUAL(200, signInFrom(server, "198.51.100.7", "{\"username\":\"dave\",\"password\":\"Correct-Horse-9\"}").status);
        for (int i = 0; i < 3; ++i)
            CPPUNIT_ASSERT_EQUAL(401, signInFrom(server, "2001:db8:1:2::1", "{\"username\":\"x\",\"password\":\"y\"}").status);
        CPPUNIT_ASSERT_EQUAL(429, signInFrom(server, "2001:db8:1:2::ffff", "{\"username\":\"x\",\"password\":\"y\"}").status);
        CPPUNIT_ASSERT_EQUAL(401, signInFrom(server, "2001:db8:1:3::1", "{\"username\":\"x\",\"password\":\"y\"}").status);
    }

    void testSignInsBeyondTheHashingSlotsAre503AndCountNoFailure()
    {
        // One slot and no waiting: of 20 parallel wrong passwords, those that find the slot busy are 503,
        // before they take a place in the name's count. So exactly 10 are ever checked before the lock,
        // whatever the 503s: were a 503 counted, fewer than 10 would be.
        TestServer server({{"passwords.hash_slots", "1"}, {"passwords.hash_waiting", "0"}});
        server.createUser("dave", "dave@example.com", "+8613800138001");
        const std::string wrong = "{\"username\":\"dave\",\"password\":\"Wrong-Horse-9\"}";
        std::atomic<int> checked{0}, busy{0}, limited{0}, other{0};
        std::atomic<bool> retryAfterOne{true};
        std::vector<std::thread> threads;
        for (int i = 0; i < 20; ++i)
            threads.emplace_back([&] {
                const HttpResult result = server.post("/auth/v1/signin", wrong);
                if (result.status == 503)
                {
                    ++busy;
                    if (result.headers.get("Retry-After", "") != "1" || result.errorCode() != 5030)
                        retryAfterOne = false;
                }
                else
                    (result.status == 401 ? checked : result.status == 429 ? limited : other)++;
            });
        for (auto& thread : threads)
            thread.join();
        CPPUNIT_ASSERT_EQUAL(0, other.load());
        CPPUNIT_ASSERT(busy.load() > 0);
        CPPUNIT_ASSERT(retryAfterOne.load());
        // One at a time now, until the lock.
        while (checked.load() < 10)
        {
            const int status = server.post("/auth/v1/signin", wrong).status;
            CPPUNIT_ASSERT_EQUAL_MESSAGE("checked " + std::to_string(checked.load()), 401, status);
            ++checked;
        }
        CPPUNIT_ASSERT_EQUAL(429, server.post("/auth/v1/signin", wrong).status);
    }

    void testALockLocksOutOnlyTheClientThatGuessed()
    {
        TestServer server(behindProxy());
        server.createUser("dave", "dave@example.com", "+8613800138001");
        const std::string owner = "198.51.100.7", attacker = "203.0.113.9";
        CPPUNIT_ASSERT_EQUAL(200, signInFrom(server, owner, "{\"username\":\"dave\",\"password\":\"Correct-Horse-9\"}").status);
        for (int i = 0; i < 10; ++i)
            CPPUNIT_ASSERT_EQUAL(401, signInFrom(server, attacker, "{\"username\":\"dave\",\"password\":\"Wrong-Horse-9\"}").status);
        // The attacker is locked out, even with the right password...
        const HttpResult locked = signInFrom(server, attacker, "{\"username\":\"dave\",\"password\":\"Correct-Horse-9\"}");
        CPPUNIT_ASSERT_EQUAL(429, locked.status);
        CPPUNIT_ASSERT_EQUAL(std::string("900"), locked.headers.get("Retry-After", ""));
        // ...the owner is not, where they signed in before nor anywhere else.
        CPPUNIT_ASSERT_EQUAL(200, signInFrom(server, owner, "{\"username\":\"dave\",\"password\":\"Correct-Horse-9\"}").status);
        CPPUNIT_ASSERT_EQUAL(200, signInFrom(server, "192.0.2.44", "{\"username\":\"dave\",\"password\":\"Correct-Horse-9\"}").status);
        // The owner's sign-ins do not lift the attacker's lock.
        CPPUNIT_ASSERT_EQUAL(429, signInFrom(server, attacker, "{\"username\":\"dave\",\"password\":\"Correct-Horse-9\"}").status);
    }

    void testALockTellsNothingAboutWhichNamesAreOneAccount()
    {
        TestServer server(behindProxy());
        server.createUser("dave", "dave@example.com", "+8613800138001");
        const std::string attacker = "203.0.113.9";
        for (int i = 0; i < 10; ++i)
            CPPUNIT_ASSERT_EQUAL(401, signInFrom(server, attacker, "{\"username\":\"dave\",\"password\":\"Wrong-Horse-9\"}").status);
        CPPUNIT_ASSERT_EQUAL(429, signInFrom(server, attacker, "{\"username\":\"dave\",\"password\":\"Wrong-Horse-9\"}").status);
        // Dave's email and phone number answer as any other name does: were the lock the account's,
        // a 429 here would tell they are his.
        CPPUNIT_ASSERT_EQUAL(401, signInFrom(server, attacker, "{\"email\":\"dave@example.com\",\"password\":\"Wrong-Horse-9\"}").status);
        CPPUNIT_ASSERT_EQUAL(401, signInFrom(server, attacker, "{\"phone_number\":\"+8613800138001\",\"password\":\"Wrong-Horse-9\"}").status);
        CPPUNIT_ASSERT_EQUAL(401, signInFrom(server, attacker, "{\"email\":\"nobody@example.com\",\"password\":\"Wrong-Horse-9\"}").status);
    }

    void testAnIpv6ClientIsCountedByItsSlash64()
    {
        TestServer server(behindProxy());
        server.createUser("alice", "alice@example.com", "+8613800138000");
        for (int i = 0; i < 10; ++i)
            CPPUNIT_ASSERT_EQUAL(401, signInFrom(server, "2001:db8:1:2::" + std::to_string(i + 1),
                                                 aliceWith("Wrong-Horse-9")).status);
        // Another address in the same /64 is the same client; another /64 is not.
        CPPUNIT_ASSERT_EQUAL(429, signInFrom(server, "2001:db8:1:2:ffff::1", aliceWith("Correct-Horse-9")).status);
        CPPUNIT_ASSERT_EQUAL(200, signInFrom(server, "2001:db8:1:3::1", aliceWith("Correct-Horse-9")).status);
        // IPv4 behind NAT64 is its IPv4 client, not one /64 for every IPv4 user.
        CPPUNIT_ASSERT_EQUAL(host::PasswordGuard::clientKey("192.0.2.7"), host::PasswordGuard::clientKey("64:ff9b::192.0.2.7"));
        CPPUNIT_ASSERT_EQUAL(host::PasswordGuard::clientKey("192.0.2.7"), host::PasswordGuard::clientKey("::ffff:192.0.2.7"));
        CPPUNIT_ASSERT(host::PasswordGuard::clientKey("64:ff9b::192.0.2.7") != host::PasswordGuard::clientKey("64:ff9b::192.0.2.8"));
        // A link-local peer carries its interface's scope, which Poco refuses to mask (it threw, on the
        // connection front's event thread): the key is its /64, scope dropped.
        CPPUNIT_ASSERT_EQUAL(std::string("fe80::/64"), host::PasswordGuard::clientKey("fe80::1%lo"));
        CPPUNIT_ASSERT_EQUAL(host::PasswordGuard::clientKey("fe80::1"), host::PasswordGuard::clientKey("fe80::2%lo"));
        const HttpResult scoped = signInFrom(server, "fe80::1%lo", aliceWith("Wrong-Horse-9"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(scoped.body, 401, scoped.status);
    }

    void testEachLockOfACountLastsTwiceTheOneBefore()
    {
        for (const int expected : {900, 1800, 3600})
        {
            for (int i = 0; i < 10; ++i)
                CPPUNIT_ASSERT_EQUAL(401, _server->post("/auth/v1/signin", aliceWith("Wrong-Horse-9")).status);
            const HttpResult locked = _server->post("/auth/v1/signin", aliceWith("Correct-Horse-9"));
            CPPUNIT_ASSERT_EQUAL(429, locked.status);
            CPPUNIT_ASSERT_EQUAL(std::to_string(expected), locked.headers.get("Retry-After", ""));
            _server->clock().advanceSeconds(expected);
        }
        // A right password resets it all: the next lock is the first again.
        _server->signIn("alice");
        for (int i = 0; i < 10; ++i)
            CPPUNIT_ASSERT_EQUAL(401, _server->post("/auth/v1/signin", aliceWith("Wrong-Horse-9")).status);
        CPPUNIT_ASSERT_EQUAL(std::string("900"),
                             _server->post("/auth/v1/signin", aliceWith("Wrong-Horse-9")).headers.get("Retry-After", ""));
    }

    void testGuessingFromManyAddressesLocksOutUnknownClientsOnly()
    {
        TestServer server(behindProxy({{"passwords.account_failures_before_lock", "20"}}));
        server.createUser("dave", "dave@example.com", "+8613800138001");
        const std::string owner = "198.51.100.7";
        const std::string right = "{\"username\":\"dave\",\"password\":\"Correct-Horse-9\"}";
        CPPUNIT_ASSERT_EQUAL(200, signInFrom(server, owner, right).status);
        // Guesses spread over addresses and names: 20 in all reach the account's own limit.
        for (int i = 0; i < 20; ++i)
        {
            const std::string body = i % 2 ? "{\"username\":\"dave\",\"password\":\"Wrong-Horse-9\"}"
                                           : "{\"email\":\"dave@example.com\",\"password\":\"Wrong-Horse-9\"}";
            CPPUNIT_ASSERT_EQUAL(401, signInFrom(server, "203.0.113." + std::to_string(i), body).status);
        }
        // A client that never signed in is refused, as if the password were wrong: no 429 to tell the
        // names apart, and the password is not even checked.
        CPPUNIT_ASSERT_EQUAL(401, signInFrom(server, "192.0.2.44", right).status);
        CPPUNIT_ASSERT_EQUAL(401, signInFrom(server, "192.0.2.45", "{\"email\":\"dave@example.com\",\"password\":\"Correct-Horse-9\"}").status);
        // A refused client's tries count for its name like any name's: from one client, the 11th try
        // answers 429 for each of the locked account's names and for a name nobody has alike, so the
        // lock tells no name apart (the owner trying from a new device is locked out there like anyone).
        for (const std::string login : {"\"username\":\"dave\"", "\"email\":\"dave@example.com\"", "\"username\":\"nobody\""})
        {
            const std::string body = "{" + login + ",\"password\":\"Correct-Horse-9\"}";
            for (int i = 0; i < 10; ++i)
                CPPUNIT_ASSERT_EQUAL_MESSAGE(login, 401, signInFrom(server, "192.0.2.46", body).status);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(login, 429, signInFrom(server, "192.0.2.46", body).status);
        }
        // The owner, where they signed in before, goes on; that does not lift the lock for the others...
        CPPUNIT_ASSERT_EQUAL(200, signInFrom(server, owner, right).status);
        CPPUNIT_ASSERT_EQUAL(401, signInFrom(server, "192.0.2.44", right).status);
        // ...its end does.
        server.clock().advanceSeconds(900);
        CPPUNIT_ASSERT_EQUAL(200, signInFrom(server, "192.0.2.44", right).status);
    }

    void testSudoPasswordGuessesLockSudo()
    {
        const std::string token = _server->signIn("alice");
        for (int i = 0; i < 10; ++i)
            CPPUNIT_ASSERT_EQUAL(401, _server->post("/auth/v1/user/sudo", "{\"password\":\"Wrong-Horse-9\"}", token).status);
        const HttpResult locked = _server->post("/auth/v1/user/sudo", "{\"password\":\"Correct-Horse-9\"}", token);
        CPPUNIT_ASSERT_EQUAL(429, locked.status);
        CPPUNIT_ASSERT_EQUAL(std::string("900"), locked.headers.get("Retry-After", ""));
        _server->clock().advanceSeconds(900);
        sudoToken(token);
    }

    void testPbkdf2HashIsReplacedByArgon2idAtSignIn()
    {
        host::SystemRandom random;
        host::PasswordHashing legacy;
        legacy.algorithm = "pbkdf2-sha256";
        const std::string old = host::PasswordHasher(legacy, random).hash("Correct-Horse-9");
        _server->server().database().write([&](sdk::Transaction& transaction) {
            transaction.execute("UPDATE users SET password_hash = $1", {sdk::Value(old)});
        });
        _server->signIn("alice");
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM users WHERE password_hash LIKE "
                                                    "'$argon2id$v=19$m=19456,t=2,p=1$%'"));
        _server->signIn("alice");
        CPPUNIT_ASSERT_EQUAL(401, _server->post("/auth/v1/signin", aliceWith("Wrong-Horse-9")).status);
    }

    /// Hashes of each algorithm a call to `post` computed.
    std::pair<std::uint64_t, std::uint64_t> hashesOf(const std::function<void()>& post)
    {
        const host::PasswordHasher& hasher = _server->server().passwordHasher();
        const std::uint64_t argon2 = hasher.argon2idHashes(), pbkdf2 = hasher.pbkdf2Hashes();
        post();
        return {hasher.argon2idHashes() - argon2, hasher.pbkdf2Hashes() - pbkdf2};
    }

    void testEverySignInSpendsOneHashOfEachSchemeInUse()
    {
        // Bob's hash is PBKDF2 (four times slower than Argon2id), from before Argon2id was configured:
        // were only the account's own hash checked, his sign-ins would take longer than an unknown
        // name's, and tell that he has an account.
        host::SystemRandom random;
        host::PasswordHashing legacy;
        legacy.algorithm = "pbkdf2-sha256";
        const std::string bobId = _server->createUser("bob", "bob@example.com", "");
        _server->server().database().write([&](sdk::Transaction& transaction) {
            transaction.execute("UPDATE users SET password_hash = $1 WHERE id = $2",
                                {sdk::Value(host::PasswordHasher(legacy, random).hash("Correct-Horse-9")),
                                 sdk::Value(bobId)});
        });
        _server->clock().advanceSeconds(host::PasswordSchemes::refreshSeconds); // the schemes are read again
        using Hashes = std::pair<std::uint64_t, std::uint64_t>;
        const Hashes both{1, 1};
        for (const char* body : {"{\"username\":\"alice\",\"password\":\"Wrong-Horse-9\"}",
                                 "{\"username\":\"bob\",\"password\":\"Wrong-Horse-9\"}",
                                 "{\"username\":\"nobody\",\"password\":\"Wrong-Horse-9\"}",
                                 "{\"email\":\"bob@example.com\",\"password\":\"Wrong-Horse-9\"}"})
            CPPUNIT_ASSERT_MESSAGE(body, both == hashesOf([&] {
                                             CPPUNIT_ASSERT_EQUAL(401, _server->post("/auth/v1/signin", body).status);
                                         }));
        // Right passwords too (Bob's hash is then replaced: one more Argon2id).
        CPPUNIT_ASSERT(both == hashesOf([&] { _server->signIn("alice"); }));
        CPPUNIT_ASSERT(Hashes(2, 1) == hashesOf([&] { _server->signIn("bob"); }));
        // Once no account holds a PBKDF2 hash, and the schemes are read again, PBKDF2 is no longer spent.
        _server->clock().advanceSeconds(host::PasswordSchemes::refreshSeconds);
        CPPUNIT_ASSERT(Hashes(1, 0) == hashesOf([&] {
                           CPPUNIT_ASSERT_EQUAL(401, _server->post("/auth/v1/signin", aliceWith("Wrong-Horse-9")).status);
                       }));
        CPPUNIT_ASSERT(Hashes(1, 0) == hashesOf([&] {
                           CPPUNIT_ASSERT_EQUAL(
                               401, _server->post("/auth/v1/signin", "{\"username\":\"nobody\",\"password\":\"x\"}").status);
                       }));
    }

    void testAFarCostlierSchemeIsNotSpentByEverySignIn()
    {
        // One account whose hash was made at 1 GiB and 16 passes (within what may be configured), or with
        // 10 million PBKDF2 rounds: were it spent by every sign-in, each sign-in of any name would cost
        // a gigabyte and seconds. (The hashes are only their schemes: nothing here verifies them.)
        const std::string tail = "$" + std::string(22, 'A') + "$" + std::string(43, 'A');
        _server->createUser("carol", "carol@example.com", "");
        _server->createUser("erin", "erin@example.com", "");
        _server->server().database().write([&](sdk::Transaction& transaction) {
            transaction.execute("UPDATE users SET password_hash = $1 WHERE username = 'carol'",
                                {sdk::Value("$argon2id$v=19$m=1048576,t=16,p=1" + tail)});
            transaction.execute("UPDATE users SET password_hash = $1 WHERE username = 'erin'",
                                {sdk::Value("pbkdf2-sha256$10000000" + tail)});
        });
        _server->clock().advanceSeconds(host::PasswordSchemes::refreshSeconds);
        const auto hashes = hashesOf([&] {
            CPPUNIT_ASSERT_EQUAL(401, _server->post("/auth/v1/signin", "{\"username\":\"nobody\",\"password\":\"x\"}").status);
        });
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), hashes.first);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), hashes.second);
    }

    void testAnotherRecordKeyOnTheDatabaseIsReported()
    {
        // The server recorded its key's fingerprint at start; another instance (or a restart) with
        // another key would no longer match its records, and is told so; the same key is not.
        host::HostAuditLog audit;
        const auto guard = [&](const std::string& key) {
            return host::PasswordGuard(_server->server().database(), _server->clock(), audit, host::PasswordLimits{}, key);
        };
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM key_fingerprints"));
        const std::string other(32, 'o');
        CPPUNIT_ASSERT(!guard(other).checkRecordKey());
        // The first key stays on record: the wrong one is still wrong, and the right one still right.
        CPPUNIT_ASSERT(!guard(other).checkRecordKey());
        CPPUNIT_ASSERT(!guard(std::string(32, 'p')).checkRecordKey());
        _server->server().database().write([](sdk::Transaction& transaction) { // a deliberate rotation
            transaction.execute("DELETE FROM key_fingerprints WHERE name = 'passwords.record_key'");
        });
        CPPUNIT_ASSERT(guard(other).checkRecordKey());
        CPPUNIT_ASSERT(guard(other).checkRecordKey());
        // Only a fingerprint is kept, never the key.
        CPPUNIT_ASSERT_EQUAL(0LL, _server->queryInt("SELECT COUNT(*) FROM key_fingerprints WHERE fingerprint LIKE '%pppp%'"));
    }

    void testClientsAndNamesAreKeptUnderTheRecordKey()
    {
        const std::string nobody = "{\"username\":\"nobody\",\"password\":\"Wrong-Horse-9\"}";
        CPPUNIT_ASSERT_EQUAL(401, _server->post("/auth/v1/signin", aliceWith("Wrong-Horse-9")).status);
        _server->signIn("alice");
        CPPUNIT_ASSERT_EQUAL(401, _server->post("/auth/v1/signin", nobody).status);
        const auto records = [](TestServer& server) {
            std::set<std::string> found;
            server.server().database().read([&](sdk::Transaction& transaction) {
                for (const char* sql : {"SELECT client FROM known_clients", "SELECT subject FROM password_failures"})
                    for (const sdk::Row& row : transaction.execute(sql).rows)
                        found.insert(row.text(0));
            });
            return found;
        };
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM known_clients"));
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM password_failures"));
        // Not the address's unkeyed SHA-256, which hashing all 2^32 IPv4 addresses would undo.
        const std::set<std::string> kept = records(*_server);
        CPPUNIT_ASSERT(kept.count(sdk::crypto::toHex(sdk::crypto::sha256("127.0.0.1"))) == 0);
        // Another server, with a record key of its own, keeps the same client and name as other records.
        TestServer other;
        other.createUser("alice", "alice@example.com", "+8613800138000");
        CPPUNIT_ASSERT_EQUAL(401, other.post("/auth/v1/signin", aliceWith("Wrong-Horse-9")).status);
        other.signIn("alice");
        CPPUNIT_ASSERT_EQUAL(401, other.post("/auth/v1/signin", nobody).status);
        CPPUNIT_ASSERT_EQUAL(2u, static_cast<unsigned>(records(other).size()));
        for (const std::string& record : records(other))
            CPPUNIT_ASSERT_MESSAGE(record, kept.count(record) == 0 && record.find("127.0.0.1") == std::string::npos);
    }

    void testAnEmailAddressIsOneAccountInAnyLetterCase()
    {
        recordSecret("u1@example.com");
        const std::string id = _server->createUser("u1", "U1@Example.com", "");
        CPPUNIT_ASSERT_THROW(_server->createUser("u2", "u1@example.com", ""), Poco::ExistsException);
        CPPUNIT_ASSERT_THROW(_server->createUser("u3", "U1@EXAMPLE.COM", ""), Poco::ExistsException);
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM users WHERE username LIKE 'u%'"));
        // Signs in in any case; stored, and shown, folded.
        for (const char* email : {"u1@example.com", "U1@EXAMPLE.COM", "u1@Example.Com"})
        {
            const HttpResult result = _server->post(
                "/auth/v1/signin", std::string("{\"email\":\"") + email + "\",\"password\":\"Correct-Horse-9\"}");
            CPPUNIT_ASSERT_EQUAL_MESSAGE(result.body, 200, result.status);
            recordSecret(result.string("access_token"));
            recordSecret(result.string("refresh_token"));
            CPPUNIT_ASSERT_EQUAL(id, result.string("sub"));
        }
        const std::string token = _server->signIn("u1");
        const HttpResult me = _server->request("GET", "/auth/v1/user/me", "", {{"Authorization", "Bearer " + token}});
        CPPUNIT_ASSERT_EQUAL(std::string("u1@example.com"), me.string("email"));
    }

    void testAnEmailAddressIsOneSignInNameInAnyLetterCase()
    {
        // Were each spelling its own name, each would have its own ten guesses.
        for (int i = 0; i < 10; ++i)
            CPPUNIT_ASSERT_EQUAL(401, _server->post("/auth/v1/signin", std::string("{\"email\":\"") +
                                                                           (i % 2 ? "ALICE@example.com" : "alice@EXAMPLE.com") +
                                                                           "\",\"password\":\"Wrong-Horse-9\"}")
                                          .status);
        CPPUNIT_ASSERT_EQUAL(429, _server->post("/auth/v1/signin",
                                                "{\"email\":\"Alice@Example.com\",\"password\":\"Correct-Horse-9\"}")
                                      .status);
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
        // The lock is over; its count stays a day, so that the name's next lock lasts twice as long.
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM password_failures"));
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM sessions"));
        CPPUNIT_ASSERT_EQUAL(200, _server->request("GET", "/auth/v1/user/me", "", {{"Authorization", "Bearer " + live}}).status);
        _server->clock().advanceSeconds(86400);
        _server->server().prune();
        CPPUNIT_ASSERT_EQUAL(0LL, _server->queryInt("SELECT COUNT(*) FROM password_failures"));
    }

private:
    std::unique_ptr<TestServer> _server;
    std::string _userId;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(AuthFlowTest, "AuthFlowTest");

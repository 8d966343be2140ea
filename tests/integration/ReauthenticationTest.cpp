// POST /auth/v1/user/reauthenticate and the life of its code, through the real plugin library loaded by
// a real host, with a manual clock.
#include "support/TestServer.h"

#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <thread>

using namespace identity::test;

namespace
{
const std::string seedError = "{\"error\":\"invalid_argument\",\"error_code\":4001,\"error_description\":"
                              "\"Invalid verification method, please use phone_code or email_code\"}";

std::map<std::string, std::string> unlimited()
{
    const std::string prefix = "plugins.reauthenticate.config.limits.";
    return {{prefix + "cooldown_seconds", "0"},
            {prefix + "per_user_per_hour", "0"},
            {prefix + "per_ip_per_hour", "0"},
            {prefix + "per_destination_per_hour", "0"}};
}
} // namespace

class ReauthenticationTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(ReauthenticationTest);
    CPPUNIT_TEST(testEmailCodeIsQueuedThenDelivered);
    CPPUNIT_TEST(testPhoneCodeIsDeliveredBySms);
    CPPUNIT_TEST(testUnknownVerifyOptGetsTheSeedsError);
    CPPUNIT_TEST(testUnknownVerifyOptInChinese);
    CPPUNIT_TEST(testMissingOrMistypedVerifyOptIs4001);
    CPPUNIT_TEST(testNothingBoundIs412);
    CPPUNIT_TEST(testRequiresAValidAccessToken);
    CPPUNIT_TEST(testChineseRequestGetsChineseEmail);
    CPPUNIT_TEST(testAcceptLanguageAnyLeavesTheUsersLocaleToDecide);
    CPPUNIT_TEST(testCooldownAnswers429WithRetryAfter);
    CPPUNIT_TEST(testHourlyLimitsPerUserAndPerDestination);
    CPPUNIT_TEST(testCodeBecomesSudoTokenOnce);
    CPPUNIT_TEST(testCodeExpiresAfterItsLifetime);
    CPPUNIT_TEST(testCodeIsSingleUseUnder20ConcurrentAttempts);
    CPPUNIT_TEST(testWrongCodeFiveTimesBurnsIt);
    CPPUNIT_TEST(testTwentyConsecutiveFailuresLockVerification);
    CPPUNIT_TEST(testSuccessResetsTheFailureCount);
    CPPUNIT_TEST(testNewerCodeReplacesOlder);
    CPPUNIT_TEST(testCodeIsBoundToItsSession);
    CPPUNIT_TEST(testMalformedCodeIs4001AndCountsNothing);
    CPPUNIT_TEST(testCodeIsStoredOnlyAsAnHmac);
    CPPUNIT_TEST(testSudoTokenFromCodeChangesPassword);
    CPPUNIT_TEST(testPasswordChangeAndDeletionEachSendANotice);
    CPPUNIT_TEST(testNoticesAreInTheUsersLanguage);
    CPPUNIT_TEST(testAFailedChangeSendsNoNotice);
    CPPUNIT_TEST(testSudoByCodeWithoutThePluginIs503);
    CPPUNIT_TEST(testPerIpLimitBelievesForwardedForOnlyFromTrustedProxies);
    CPPUNIT_TEST(testPerIpLimitCountsAnIpv6SlashSixtyFourAsOne);
    CPPUNIT_TEST_SUITE_END();

public:
    void tearDown() override { _server.reset(); }

    void start(const std::map<std::string, std::string>& overrides = unlimited())
    {
        _server = std::make_unique<TestServer>(overrides);
        _userId = _server->createUser("alice", "alice@example.com", "+8613800138000");
        _token = _server->signIn("alice");
    }

    HttpResult reauthenticate(const std::string& body, const std::string& token,
                              std::vector<std::pair<std::string, std::string>> headers = {})
    {
        headers.emplace_back("Authorization", "Bearer " + token);
        return _server->request("POST", "/auth/v1/user/reauthenticate", body, headers);
    }

    HttpResult sudo(const std::string& code, const std::string& token)
    {
        return _server->post("/auth/v1/user/sudo", "{\"verification_code\":\"" + code + "\"}", token);
    }

    static std::string wrongCode(const std::string& code) { return code == "000000" ? "000001" : "000000"; }

    void assertRejected(const HttpResult& result)
    {
        CPPUNIT_ASSERT_EQUAL_MESSAGE(result.body, 400, result.status);
        CPPUNIT_ASSERT_EQUAL(std::string("invalid_verification_code"), result.string("error"));
        CPPUNIT_ASSERT_EQUAL(4002, result.errorCode());
    }

    void testEmailCodeIsQueuedThenDelivered()
    {
        start();
        const HttpResult result = reauthenticate("{\"verify_opt\":\"email_code\"}", _token);
        CPPUNIT_ASSERT_EQUAL(200, result.status);
        CPPUNIT_ASSERT_EQUAL(std::string("{}"), result.body);
        const std::string code = _server->waitForEmailCode(1);
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), code.size());
        const std::string mail = _server->newestEmail();
        CPPUNIT_ASSERT(mail.find("To: <alice@example.com>") != std::string::npos);
        CPPUNIT_ASSERT(mail.find("Subject: Your Identity verification code") != std::string::npos);
        CPPUNIT_ASSERT(mail.find("multipart/alternative") != std::string::npos);
        CPPUNIT_ASSERT(waitFor([&] {
            return _server->queryInt("SELECT COUNT(*) FROM outbox WHERE status = 'delivered' AND payload IS NULL") == 1;
        }));
    }

    void testPhoneCodeIsDeliveredBySms()
    {
        start();
        const std::string code = _server->requestCode(_token, "phone_code");
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), code.size());
        CPPUNIT_ASSERT_EQUAL(200, sudo(code, _token).status);
    }

    void testUnknownVerifyOptGetsTheSeedsError()
    {
        start();
        const HttpResult result = reauthenticate("{\"verify_opt\":\"sms\"}", _token);
        CPPUNIT_ASSERT_EQUAL(400, result.status);
        CPPUNIT_ASSERT_EQUAL(seedError, result.body);
    }

    void testUnknownVerifyOptInChinese()
    {
        start();
        const HttpResult result =
            reauthenticate("{\"verify_opt\":\"sms\"}", _token, {{"Accept-Language", "zh-CN,zh;q=0.9"}});
        CPPUNIT_ASSERT_EQUAL(400, result.status);
        CPPUNIT_ASSERT_EQUAL(std::string("验证方式错误,请使用 phone_code 或 email_code"),
                             result.string("error_description"));
    }

    void testMissingOrMistypedVerifyOptIs4001()
    {
        start();
        for (const char* body : {"{}", "{\"verify_opt\":1}", "{\"verify_opt\":null}", "{\"verify_opt\":[\"email_code\"]}",
                                 "{\"verify_opt\":\"EMAIL_CODE\"}", "{\"verify_opt\":\"email_code \"}"})
        {
            const HttpResult result = reauthenticate(body, _token);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(body, 400, result.status);
            CPPUNIT_ASSERT_EQUAL(4001, result.errorCode());
        }
        CPPUNIT_ASSERT_EQUAL(0LL, _server->queryInt("SELECT COUNT(*) FROM verification_codes"));
        CPPUNIT_ASSERT_EQUAL(0LL, _server->queryInt("SELECT COUNT(*) FROM send_events"));
    }

    void testNothingBoundIs412()
    {
        start();
        _server->createUser("nophone", "nophone@example.com", "");
        _server->createUser("nomail", "", "+8613900139000");
        const HttpResult phone = reauthenticate("{\"verify_opt\":\"phone_code\"}", _server->signIn("nophone"));
        CPPUNIT_ASSERT_EQUAL(412, phone.status);
        CPPUNIT_ASSERT_EQUAL(std::string("failed_precondition"), phone.string("error"));
        CPPUNIT_ASSERT_EQUAL(4120, phone.errorCode());
        const HttpResult email = reauthenticate("{\"verify_opt\":\"email_code\"}", _server->signIn("nomail"));
        CPPUNIT_ASSERT_EQUAL(412, email.status);
        CPPUNIT_ASSERT_EQUAL(0LL, _server->queryInt("SELECT COUNT(*) FROM verification_codes"));
    }

    void testRequiresAValidAccessToken()
    {
        start();
        const HttpResult none = _server->post("/auth/v1/user/reauthenticate", "{\"verify_opt\":\"email_code\"}");
        CPPUNIT_ASSERT_EQUAL(401, none.status);
        _server->clock().advanceSeconds(7200);
        const HttpResult expired = reauthenticate("{\"verify_opt\":\"email_code\"}", _token);
        CPPUNIT_ASSERT_EQUAL(401, expired.status);
        CPPUNIT_ASSERT_EQUAL(4010, expired.errorCode());
    }

    void testChineseRequestGetsChineseEmail()
    {
        start();
        const HttpResult result = reauthenticate("{\"verify_opt\":\"email_code\"}", _token, {{"Accept-Language", "zh-CN"}});
        CPPUNIT_ASSERT_EQUAL(200, result.status);
        _server->waitForEmailCode(1);
        CPPUNIT_ASSERT(_server->newestEmail().find("Subject: =?UTF-8?B?") != std::string::npos);
    }

    void testAcceptLanguageAnyLeavesTheUsersLocaleToDecide()
    {
        start();
        // What the official client always sends, for a user whose locale is Chinese.
        _server->createUser("li", "li@example.com", "+8613800138009");
        _server->server().database().write([](identity::sdk::Transaction& transaction) {
            transaction.execute("UPDATE users SET locale = 'zh' WHERE username = 'li'");
        });
        const std::string token = _server->signIn("li");
        const HttpResult wrong = reauthenticate("{\"verify_opt\":\"sms\"}", token, {{"Accept-Language", "*"}});
        CPPUNIT_ASSERT_EQUAL(400, wrong.status);
        CPPUNIT_ASSERT_EQUAL(std::string("验证方式错误,请使用 phone_code 或 email_code"), wrong.string("error_description"));
        CPPUNIT_ASSERT_EQUAL(200, reauthenticate("{\"verify_opt\":\"email_code\"}", token, {{"Accept-Language", "*"}}).status);
        _server->waitForEmailCode(1);
        CPPUNIT_ASSERT(_server->newestEmail().find("Subject: =?UTF-8?B?") != std::string::npos);
        // A stated preference still wins over the user's locale; an English user with `*` gets English.
        const HttpResult english = reauthenticate("{\"verify_opt\":\"sms\"}", token, {{"Accept-Language", "en-US"}});
        CPPUNIT_ASSERT(english.string("error_description").find("phone_code or email_code") != std::string::npos);
        const HttpResult alice = reauthenticate("{\"verify_opt\":\"sms\"}", _token, {{"Accept-Language", "*"}});
        CPPUNIT_ASSERT(alice.string("error_description").find("phone_code or email_code") != std::string::npos);
    }

    void testCooldownAnswers429WithRetryAfter()
    {
        start({});
        _server->requestCode(_token);
        _server->clock().advanceSeconds(10);
        const HttpResult limited = reauthenticate("{\"verify_opt\":\"phone_code\"}", _token);
        CPPUNIT_ASSERT_EQUAL(429, limited.status);
        CPPUNIT_ASSERT_EQUAL(std::string("resource_exhausted"), limited.string("error"));
        CPPUNIT_ASSERT_EQUAL(4290, limited.errorCode());
        CPPUNIT_ASSERT_EQUAL(std::string("50"), limited.headers.get("Retry-After", ""));
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM verification_codes"));
        _server->clock().advanceSeconds(50);
        _server->requestCode(_token, "phone_code");
    }

    void testHourlyLimitsPerUserAndPerDestination()
    {
        start({{"plugins.reauthenticate.config.limits.cooldown_seconds", "0"}});
        for (int i = 0; i < 5; ++i)
            CPPUNIT_ASSERT_EQUAL(200, reauthenticate("{\"verify_opt\":\"email_code\"}", _token).status);
        const HttpResult destination = reauthenticate("{\"verify_opt\":\"email_code\"}", _token);
        CPPUNIT_ASSERT_EQUAL(429, destination.status); // 5 per destination per hour
        CPPUNIT_ASSERT_EQUAL(std::string("3600"), destination.headers.get("Retry-After", ""));
        for (int i = 0; i < 5; ++i)
            CPPUNIT_ASSERT_EQUAL(200, reauthenticate("{\"verify_opt\":\"phone_code\"}", _token).status);
        const HttpResult user = reauthenticate("{\"verify_opt\":\"phone_code\"}", _token);
        CPPUNIT_ASSERT_EQUAL(429, user.status); // 10 per user per hour
        _server->clock().advanceSeconds(3600);
        CPPUNIT_ASSERT_EQUAL(200, reauthenticate("{\"verify_opt\":\"phone_code\"}", _token).status);
    }

    void testCodeBecomesSudoTokenOnce()
    {
        start();
        const std::string code = _server->requestCode(_token);
        const HttpResult first = sudo(code, _token);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(first.body, 200, first.status);
        recordSecret(first.string("sudo_token"));
        CPPUNIT_ASSERT_EQUAL(900, first.json->getValue<int>("expires_in"));
        assertRejected(sudo(code, _token));
    }

    void testCodeExpiresAfterItsLifetime()
    {
        start();
        const std::string code = _server->requestCode(_token);
        _server->clock().advanceSeconds(299);
        const std::string fresh = _server->requestCode(_token);
        _server->clock().advanceSeconds(299);
        CPPUNIT_ASSERT_EQUAL(200, sudo(fresh, _token).status); // 299 s old: still good
        const std::string late = _server->requestCode(_token);
        _server->clock().advanceSeconds(300);
        assertRejected(sudo(late, _token)); // 300 s old: expired
    }

    void testCodeIsSingleUseUnder20ConcurrentAttempts()
    {
        start();
        const std::string code = _server->requestCode(_token);
        std::atomic<int> accepted{0}, rejected{0}, other{0};
        std::vector<std::thread> threads;
        std::atomic<bool> go{false};
        for (int i = 0; i < 20; ++i)
            threads.emplace_back([&] {
                while (!go)
                    std::this_thread::yield();
                const HttpResult result = sudo(code, _token);
                if (result.status == 200)
                {
                    recordSecret(result.string("sudo_token"));
                    ++accepted;
                }
                else if (result.status == 400 && result.errorCode() == 4002)
                    ++rejected;
                else
                    ++other;
            });
        go = true;
        for (auto& thread : threads)
            thread.join();
        CPPUNIT_ASSERT_EQUAL(1, accepted.load());
        CPPUNIT_ASSERT_EQUAL(19, rejected.load());
        CPPUNIT_ASSERT_EQUAL(0, other.load());
        // The losers replayed the right code: refused, but not counted as guesses toward the lock.
        CPPUNIT_ASSERT_EQUAL(0LL, _server->queryInt("SELECT COUNT(*) FROM verification_failures"));
    }

    void testWrongCodeFiveTimesBurnsIt()
    {
        start();
        const std::string code = _server->requestCode(_token);
        for (int i = 0; i < 4; ++i)
            assertRejected(sudo(wrongCode(code), _token));
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM verification_codes WHERE state = 'live'"));
        assertRejected(sudo(wrongCode(code), _token));
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM verification_codes WHERE state = 'burned'"));
        assertRejected(sudo(code, _token)); // the right code, too late
    }

    void testTwentyConsecutiveFailuresLockVerification()
    {
        start();
        for (int round = 0; round < 4; ++round)
        {
            const std::string code = _server->requestCode(_token);
            for (int i = 0; i < 5; ++i)
                assertRejected(sudo(wrongCode(code), _token));
        }
        const std::string code = _server->requestCode(_token);
        const HttpResult locked = sudo(code, _token);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(locked.body, 429, locked.status);
        CPPUNIT_ASSERT_EQUAL(4290, locked.errorCode());
        CPPUNIT_ASSERT_EQUAL(std::string("3600"), locked.headers.get("Retry-After", ""));
        _server->clock().advanceSeconds(3600);
        const std::string after = _server->requestCode(_token);
        CPPUNIT_ASSERT_EQUAL(200, sudo(after, _token).status);
    }

    void testSuccessResetsTheFailureCount()
    {
        start();
        for (int round = 0; round < 2; ++round)
        {
            for (int burned = 0; burned < 3; ++burned)
            {
                const std::string code = _server->requestCode(_token);
                for (int i = 0; i < 5; ++i)
                    assertRejected(sudo(wrongCode(code), _token));
            }
            const std::string code = _server->requestCode(_token);
            for (int i = 0; i < 4; ++i)
                assertRejected(sudo(wrongCode(code), _token));
            // 19 consecutive failures, then a success: the count starts again.
            CPPUNIT_ASSERT_EQUAL(200, sudo(code, _token).status);
        }
    }

    void testNewerCodeReplacesOlder()
    {
        start();
        const std::string older = _server->requestCode(_token);
        const std::string newer = _server->requestCode(_token, "phone_code");
        if (older != newer)
            assertRejected(sudo(older, _token));
        CPPUNIT_ASSERT_EQUAL(200, sudo(newer, _token).status);
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM verification_codes WHERE state = 'replaced'"));
    }

    void testCodeIsBoundToItsSession()
    {
        start();
        const std::string other = _server->signIn("alice");
        const std::string code = _server->requestCode(_token);
        assertRejected(sudo(code, other));
        CPPUNIT_ASSERT_EQUAL(200, sudo(code, _token).status);
    }

    void testMalformedCodeIs4001AndCountsNothing()
    {
        start();
        const std::string code = _server->requestCode(_token);
        for (const char* bad : {"12345", "1234567", "12345a", "", "１２３４５６"})
        {
            const HttpResult result = sudo(bad, _token);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(bad, 400, result.status);
            CPPUNIT_ASSERT_EQUAL(4001, result.errorCode());
        }
        CPPUNIT_ASSERT_EQUAL(0LL, _server->queryInt("SELECT COALESCE(SUM(attempts), 0) FROM verification_codes"));
        CPPUNIT_ASSERT_EQUAL(0LL, _server->queryInt("SELECT COUNT(*) FROM verification_failures"));
        CPPUNIT_ASSERT_EQUAL(200, sudo(code, _token).status);
    }

    void testCodeIsStoredOnlyAsAnHmac()
    {
        start({{"plugins.reauthenticate.config.delivery.poll_ms", "60000"}});
        // The worker is woken when a code is queued; the row may or may not be delivered yet. Either
        // way, no column anywhere holds the code.
        const std::string code = _server->requestCode(_token);
        for (const char* sql : {"SELECT COUNT(*) FROM verification_codes WHERE code_hash LIKE '%' || $1 || '%' "
                                "OR id LIKE '%' || $2 || '%'",
                                "SELECT COUNT(*) FROM outbox WHERE COALESCE(payload, '') LIKE '%' || $1 || '%' "
                                "OR destination LIKE '%' || $2 || '%'"})
        {
            Poco::Int64 found = -1;
            _server->server().database().read([&](identity::sdk::Transaction& transaction) {
                found = transaction.execute(sql, {identity::sdk::Value(code), identity::sdk::Value(code)})
                            .front()
                            .integer(0);
            });
            CPPUNIT_ASSERT_EQUAL(Poco::Int64(0), found);
        }
        CPPUNIT_ASSERT_EQUAL(64LL, _server->queryInt("SELECT LENGTH(code_hash) FROM verification_codes"));
    }

    /// Waits for a delivered email with this subject, and returns it.
    std::string waitForEmailWithSubject(const std::string& subject)
    {
        std::string found;
        CPPUNIT_ASSERT_MESSAGE("an email with the subject '" + subject + "'", waitFor([&] {
                                   for (const std::string& mail : _server->emails())
                                       if (TestServer::subjectOf(mail) == subject)
                                           found = mail;
                                   return !found.empty();
                               }));
        return found;
    }

    HttpResult changePassword(const std::string& token, const std::string& sudoToken, const std::string& password,
                              std::vector<std::pair<std::string, std::string>> headers = {})
    {
        recordSecret(password);
        headers.emplace_back("Authorization", "Bearer " + token);
        return _server->request("PATCH", "/auth/v1/user/password",
                                "{\"new_password\":\"" + password + "\",\"sudo_token\":\"" + sudoToken + "\"}", headers);
    }

    std::string sudoByPassword(const std::string& token, const std::string& password)
    {
        const HttpResult granted = _server->post("/auth/v1/user/sudo", "{\"password\":\"" + password + "\"}", token);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(granted.body, 200, granted.status);
        recordSecret(granted.string("sudo_token"));
        return granted.string("sudo_token");
    }

    /// A notice holds nothing to act on: no code, no token, no password, no link.
    static void assertNoSecretIn(const std::string& mail, const std::vector<std::string>& secrets)
    {
        for (const std::string& secret : secrets)
            CPPUNIT_ASSERT_MESSAGE("a secret in a notice", mail.find(secret) == std::string::npos);
        CPPUNIT_ASSERT_MESSAGE("a link in a notice", mail.find("http") == std::string::npos);
    }

    void testPasswordChangeAndDeletionEachSendANotice()
    {
        start();
        const std::string userId = _userId;
        const std::string code = _server->requestCode(_token); // the code's own email is the first
        const HttpResult granted = sudo(code, _token);
        CPPUNIT_ASSERT_EQUAL(200, granted.status);
        recordSecret(granted.string("sudo_token"));
        const HttpResult changed = changePassword(_token, granted.string("sudo_token"), "New-Password-7");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(changed.body, 200, changed.status);
        const std::string changedMail = waitForEmailWithSubject("Your Identity password was changed");
        CPPUNIT_ASSERT(changedMail.find("To: <alice@example.com>") != std::string::npos);
        CPPUNIT_ASSERT(changedMail.find("contact support at once") != std::string::npos);
        assertNoSecretIn(changedMail, {code, granted.string("sudo_token"), "New-Password-7", _token});
        // Recorded as delivered once the notifier returned (just after the file landed).
        CPPUNIT_ASSERT(waitFor([&] {
            return _server->queryInt("SELECT COUNT(*) FROM outbox WHERE kind = 'password_changed' AND status = 'delivered'") == 1;
        }));

        const std::string sudoToken = sudoByPassword(_token, "New-Password-7");
        const HttpResult deleted =
            _server->request("DELETE", "/auth/v1/user/me?sudo_token=" + sudoToken, "", {{"Authorization", "Bearer " + _token}});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(deleted.body, 200, deleted.status);
        const std::string deletedMail = waitForEmailWithSubject("Your Identity account was deleted");
        CPPUNIT_ASSERT(deletedMail.find("To: <alice@example.com>") != std::string::npos);
        assertNoSecretIn(deletedMail, {sudoToken, "New-Password-7", _token});
        // Of the account's rows, only its deletion notice was left to send, and once sent, its address
        // is scrubbed too.
        CPPUNIT_ASSERT(waitFor([&] {
            return _server->queryInt("SELECT COUNT(*) FROM outbox WHERE user_id = '" + userId +
                                     "' AND kind = 'account_deleted' AND status = 'delivered' AND destination = ''") == 1;
        }));
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM outbox WHERE user_id = '" + userId + "'"));
        CPPUNIT_ASSERT_EQUAL(3u, static_cast<unsigned>(_server->emailCount())); // the code, then the two notices
    }

    void testNoticesAreInTheUsersLanguage()
    {
        start();
        _server->createUser("li", "li@example.com", "+8613800138009");
        _server->server().database().write([](identity::sdk::Transaction& transaction) {
            transaction.execute("UPDATE users SET locale = 'zh' WHERE username = 'li'");
        });
        const std::string token = _server->signIn("li");
        // What the official client sends: no preference, so the user's locale decides.
        const HttpResult changed =
            changePassword(token, sudoByPassword(token, "Correct-Horse-9"), "New-Password-7", {{"Accept-Language", "*"}});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(changed.body, 200, changed.status);
        const std::string mail = waitForEmailWithSubject("您的Identity密码已修改");
        CPPUNIT_ASSERT(mail.find("To: <li@example.com>") != std::string::npos);
    }

    void testAFailedChangeSendsNoNotice()
    {
        start();
        const std::string sudoToken = sudoByPassword(_token, "Correct-Horse-9");
        CPPUNIT_ASSERT_EQUAL(400, changePassword(_token, sudoToken, "weak").status);
        CPPUNIT_ASSERT_EQUAL(403, changePassword(_token, "not-a-sudo-token", "New-Password-7").status);
        CPPUNIT_ASSERT_EQUAL(0LL, _server->queryInt("SELECT COUNT(*) FROM outbox"));
        // The right one does; a second change with the spent token does not.
        CPPUNIT_ASSERT_EQUAL(200, changePassword(_token, sudoToken, "New-Password-7").status);
        CPPUNIT_ASSERT_EQUAL(403, changePassword(_token, sudoToken, "Other-Password-8").status);
        CPPUNIT_ASSERT_EQUAL(1LL, _server->queryInt("SELECT COUNT(*) FROM outbox WHERE kind = 'password_changed'"));
    }

    void testSudoTokenFromCodeChangesPassword()
    {
        start();
        const std::string code = _server->requestCode(_token);
        const HttpResult granted = sudo(code, _token);
        CPPUNIT_ASSERT_EQUAL(200, granted.status);
        const std::string sudoToken = granted.string("sudo_token");
        recordSecret(sudoToken);
        recordSecret("New-Password-7");
        const HttpResult changed = _server->request(
            "PATCH", "/auth/v1/user/password", "{\"new_password\":\"New-Password-7\",\"sudo_token\":\"" + sudoToken + "\"}",
            {{"Authorization", "Bearer " + _token}});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(changed.body, 200, changed.status);
        const HttpResult old =
            _server->post("/auth/v1/signin", "{\"username\":\"alice\",\"password\":\"Correct-Horse-9\"}");
        CPPUNIT_ASSERT_EQUAL(401, old.status);
        CPPUNIT_ASSERT_EQUAL(4003, old.errorCode());
        _server->signIn("alice", "New-Password-7");
    }

    void testSudoByCodeWithoutThePluginIs503()
    {
        start({{"plugins.reauthenticate.enabled", "false"}});
        const HttpResult result = sudo("123456", _token);
        CPPUNIT_ASSERT_EQUAL(503, result.status);
        CPPUNIT_ASSERT_EQUAL(std::string("unavailable"), result.string("error"));
        CPPUNIT_ASSERT_EQUAL(5030, result.errorCode());
        CPPUNIT_ASSERT_EQUAL(404, reauthenticate("{\"verify_opt\":\"email_code\"}", _token).status);
    }

    static std::map<std::string, std::string> onePerIp(bool trustLoopback)
    {
        auto overrides = unlimited();
        overrides["plugins.reauthenticate.config.limits.per_ip_per_hour"] = "1";
        if (trustLoopback)
            overrides["server.trusted_proxies[0]"] = "127.0.0.1";
        return overrides;
    }

    int sendFrom(const std::string& forwardedFor)
    {
        return reauthenticate("{\"verify_opt\":\"email_code\"}", _token, {{"X-Forwarded-For", forwardedFor}}).status;
    }

    void testPerIpLimitBelievesForwardedForOnlyFromTrustedProxies()
    {
        start(onePerIp(false));
        CPPUNIT_ASSERT_EQUAL(200, sendFrom("203.0.113.1"));
        CPPUNIT_ASSERT_EQUAL(429, sendFrom("203.0.113.2")); // not a trusted proxy: the peer is the client
        _server.reset();
        start(onePerIp(true));
        CPPUNIT_ASSERT_EQUAL(200, sendFrom("203.0.113.1"));
        CPPUNIT_ASSERT_EQUAL(200, sendFrom("198.51.100.7, 203.0.113.2"));
        CPPUNIT_ASSERT_EQUAL(429, sendFrom("203.0.113.1"));
        // The proxy's own line comes after the one the client made up: that is the one believed, not the
        // first (which would let anyone pick the address a limit counts).
        const auto twoLines = [&](const std::string& made, const std::string& seen) {
            return reauthenticate("{\"verify_opt\":\"email_code\"}", _token,
                                  {{"X-Forwarded-For", made}, {"X-Forwarded-For", seen}})
                .status;
        };
        CPPUNIT_ASSERT_EQUAL(429, twoLines("192.0.2.50", "203.0.113.1"));
        CPPUNIT_ASSERT_EQUAL(200, twoLines("203.0.113.1", "192.0.2.60"));
    }

    void testPerIpLimitCountsAnIpv6SlashSixtyFourAsOne()
    {
        start(onePerIp(true));
        CPPUNIT_ASSERT_EQUAL(200, sendFrom("2001:db8:1:2::1"));
        CPPUNIT_ASSERT_EQUAL(429, sendFrom("2001:db8:1:2:ffff::9"));
        CPPUNIT_ASSERT_EQUAL(200, sendFrom("2001:db8:1:3::1"));
        // IPv4 clients of a dual-stack listener appear IPv4-mapped: each still counts on its own.
        CPPUNIT_ASSERT_EQUAL(200, sendFrom("::ffff:203.0.113.1"));
        CPPUNIT_ASSERT_EQUAL(200, sendFrom("::ffff:203.0.113.2"));
        CPPUNIT_ASSERT_EQUAL(429, sendFrom("::ffff:203.0.113.1"));
    }

private:
    std::unique_ptr<TestServer> _server;
    std::string _userId;
    std::string _token;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(ReauthenticationTest, "ReauthenticationTest");

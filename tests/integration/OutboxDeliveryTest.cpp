// The outbox and its delivery worker with the SMTP notifier and a real SMTP server, through the real
// plugin in a real host, on a manual clock: retries while the code lives, expiry, scrubbing, and one
// reused connection for a queue of messages.
#include "support/PeerProcess.h"
#include "support/TestServer.h"

#include "identity/sdk/Crypto.h"

#include <Poco/DirectoryIterator.h>
#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/TemporaryFile.h>
#include <Poco/UUIDGenerator.h>

#include <cppunit/extensions/HelperMacros.h>

using namespace identity;
using namespace identity::test;

class OutboxDeliveryTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(OutboxDeliveryTest);
    CPPUNIT_TEST(testDeliveredMessageIsScrubbed);
    CPPUNIT_TEST(testServerBackBeforeExpiryGetsTheMessageOnce);
    CPPUNIT_TEST(testServerBackAfterExpiryGetsNothing);
    CPPUNIT_TEST(testTwoHundredQueuedMessagesShareOneConnectionAndFewWrites);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _folder = Poco::TemporaryFile::tempName();
        Poco::File(_folder + "/out").createDirectories();
        PeerProcess::makeCertificate(_folder);
        // A port for the SMTP server that stays the same when it is stopped and started again.
        Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
        _smtpPort = std::to_string(probe.address().port());
    }

    void tearDown() override
    {
        _host.reset();
        _smtp.reset();
        Poco::File(_folder).remove(true);
    }

    void startSmtp()
    {
        _smtp = std::make_unique<PeerProcess>(
            "smtp_server.py",
            std::vector<std::string>{"--port", _smtpPort, "--mode", "starttls", "--cert", _folder + "/server.pem",
                                     "--key", _folder + "/server.key", "--user", "mailer", "--password",
                                     "Mailer-Secret-1", "--out", _folder + "/out", "--stats", _folder + "/stats.json"});
    }

    void startHost(const std::string& pollMillis = "20")
    {
        const std::string p = "plugins.reauthenticate.config.";
        _host = std::make_unique<TestServer>(Overrides{{p + "email.notifier", "smtp"},
                                                       {p + "email.smtp.host", "127.0.0.1"},
                                                       {p + "email.smtp.port", _smtpPort},
                                                       {p + "email.smtp.tls", "starttls"},
                                                       {p + "email.smtp.username", "mailer"},
                                                       {p + "email.smtp.password", "Mailer-Secret-1"},
                                                       {p + "email.smtp.ca_file", _folder + "/ca.pem"},
                                                       {p + "email.smtp.from", "no-reply@example.com"},
                                                       {p + "email.smtp.timeout_seconds", "5"},
                                                       {p + "delivery.poll_ms", pollMillis},
                                                       {p + "limits.cooldown_seconds", "0"}});
        recordSecret("Mailer-Secret-1");
    }

    long stat(const std::string& key) { return jsonNumber(_folder + "/stats.json", key); }

    std::size_t delivered() const
    {
        std::size_t count = 0;
        for (Poco::DirectoryIterator it(_folder + "/out"), end; it != end; ++it)
            count += it.name().size() > 4 && it.name().substr(it.name().size() - 4) == ".eml";
        return count;
    }

    std::string outboxStatus()
    {
        std::string status;
        _host->server().database().read([&](sdk::Transaction& transaction) {
            const sdk::Result result = transaction.execute("SELECT status FROM outbox ORDER BY created_at DESC LIMIT 1");
            status = result.empty() ? std::string() : result.front().text(0);
        });
        return status;
    }

    std::string request(const std::string& token)
    {
        const HttpResult result = _host->post("/auth/v1/user/reauthenticate", "{\"verify_opt\":\"email_code\"}", token);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(result.body, 200, result.status);
        return token;
    }

    void testDeliveredMessageIsScrubbed()
    {
        startSmtp();
        startHost();
        _host->createUser("alice", "alice@example.com", "");
        request(_host->signIn("alice"));
        CPPUNIT_ASSERT(waitFor([&] { return outboxStatus() == "delivered"; }));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), delivered());
        CPPUNIT_ASSERT_EQUAL(0LL, _host->queryInt("SELECT COUNT(*) FROM outbox WHERE payload IS NOT NULL "
                                                  "OR destination <> ''"));
        CPPUNIT_ASSERT_EQUAL(1LL, _host->queryInt("SELECT COUNT(*) FROM outbox WHERE destination_masked = "
                                                  "'a***@example.com'"));
    }

    void testServerBackBeforeExpiryGetsTheMessageOnce()
    {
        startHost(); // no SMTP server yet: connections are refused
        _host->createUser("alice", "alice@example.com", "");
        const std::string token = request(_host->signIn("alice"));
        CPPUNIT_ASSERT(waitFor([&] { return _host->queryInt("SELECT attempts FROM outbox") >= 1 && outboxStatus() == "pending"; }));
        startSmtp();
        _host->clock().advanceSeconds(5); // the retry falls due
        CPPUNIT_ASSERT(waitFor([&] { return outboxStatus() == "delivered"; }));
        _host->clock().advanceSeconds(120);
        CPPUNIT_ASSERT(!waitFor([&] { return stat("messages") > 1; }, 0.5)); // and no second copy
        CPPUNIT_ASSERT_EQUAL(1L, stat("messages"));
    }

    void testServerBackAfterExpiryGetsNothing()
    {
        startHost();
        _host->createUser("alice", "alice@example.com", "");
        request(_host->signIn("alice"));
        CPPUNIT_ASSERT(waitFor([&] { return _host->queryInt("SELECT attempts FROM outbox") >= 1 && outboxStatus() == "pending"; }));
        _host->clock().advanceSeconds(300); // the code's lifetime is over
        CPPUNIT_ASSERT(waitFor([&] { return outboxStatus() == "expired"; }));
        startSmtp();
        _host->clock().advanceSeconds(60);
        CPPUNIT_ASSERT(!waitFor([&] { return stat("messages") > 0; }, 0.5));
        CPPUNIT_ASSERT_EQUAL(0LL, _host->queryInt("SELECT COUNT(*) FROM outbox WHERE payload IS NOT NULL"));
    }

    void testTwoHundredQueuedMessagesShareOneConnectionAndFewWrites()
    {
        startSmtp();
        startHost("1000"); // few polls that find nothing (each is a unit of work too)
        // 200 users with a live code and a queued message each, written as the plugin writes them
        // (signing in 200 users through PBKDF2 would take a minute): the code sealed with the outbox
        // key, which the plugin derives from its secret.
        Poco::FileInputStream in(_host->folder() + "/secrets.json");
        const auto unitsBefore = _host->server().database().writeStatistics().units;
        Poco::JSON::Parser parser;
        const auto secrets = parser.parse(in).extract<Poco::JSON::Object::Ptr>();
        const std::string key = sdk::crypto::hmacSha256(
            secrets->getValue<std::string>("plugins.reauthenticate.outbox_key"), "reauthenticate outbox v1");
        const Poco::Int64 at = _host->clock().now(), expires = at + 300;
        _host->server().database().write([&](sdk::Transaction& transaction) {
            for (int n = 0; n < 200; ++n)
            {
                const std::string user = "user-" + std::to_string(n), codeId = "code-" + std::to_string(n),
                                  messageId = Poco::UUIDGenerator::defaultGenerator().createRandom().toString(),
                                  email = "user" + std::to_string(n) + "@example.com", code = "123456";
                const std::string sealed =
                    sdk::crypto::base64UrlEncode(sdk::crypto::aesGcmSeal(key, code, messageId));
                transaction.execute(
                    "INSERT INTO users(id, email, password_hash, created_at, updated_at) VALUES ($1, $2, 'x', $3, $4)",
                    {sdk::Value(user), sdk::Value(email), sdk::Value(at), sdk::Value(at)});
                transaction.execute("INSERT INTO verification_codes(id, user_id, session_id, purpose, channel, "
                                    "code_hash, created_at, expires_at) VALUES ($1, $2, 's', 'reauthenticate', "
                                    "'email', 'h', $3, $4)",
                                    {sdk::Value(codeId), sdk::Value(user), sdk::Value(at), sdk::Value(expires)});
                transaction.execute(
                    "INSERT INTO outbox(id, code_id, user_id, channel, destination, destination_masked, locale, "
                    "payload, status, next_attempt_at, expires_at, created_at, updated_at) VALUES ($1, $2, $3, "
                    "'email', $4, 'u***@example.com', 'en', $5, 'pending', $6, $7, $8, $9)",
                    {sdk::Value(messageId), sdk::Value(codeId), sdk::Value(user), sdk::Value(email),
                     sdk::Value(sealed), sdk::Value(at), sdk::Value(expires), sdk::Value(at), sdk::Value(at)});
            }
        });
        CPPUNIT_ASSERT(waitFor(
            [&] { return _host->queryInt("SELECT COUNT(*) FROM outbox WHERE status = 'delivered'") == 200; }, 60));
        CPPUNIT_ASSERT_EQUAL(200L, stat("messages"));
        CPPUNIT_ASSERT_EQUAL(1L, stat("connections"));
        // A claim and one record of outcomes per batch of 16 (13 batches), not a write per message (that
        // was 200 and more): the insert above, the claims and records, a poll a second that finds nothing,
        // and the host's pruning.
        const auto units = _host->server().database().writeStatistics().units - unitsBefore;
        CPPUNIT_ASSERT_MESSAGE(std::to_string(units) + " units of work", units <= 1 + 2 * 13 + 12);
    }

private:
    std::string _folder;
    std::string _smtpPort;
    std::unique_ptr<PeerProcess> _smtp;
    std::unique_ptr<TestServer> _host;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(OutboxDeliveryTest, "OutboxDeliveryTest");

// The SMTP notifier against a real SMTP server (aiosmtpd) on loopback: STARTTLS and AUTH, refusal of
// a server without STARTTLS, certificate checks, and one connection for many messages.
#include "notifiers/SmtpNotifier.h"
#include "support/PeerProcess.h"
#include "support/TestServer.h"

#include <Poco/DirectoryIterator.h>
#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/TemporaryFile.h>
#include <Poco/Util/MapConfiguration.h>

#include <cppunit/extensions/HelperMacros.h>

#include <iterator>

using namespace identity;
using namespace identity::test;

class SmtpNotifierTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(SmtpNotifierTest);
    CPPUNIT_TEST(testStartTlsAndAuthDeliverTheMessage);
    CPPUNIT_TEST(testServerWithoutStartTlsGetsNoMessageAndNoCredentials);
    CPPUNIT_TEST(testUntrustedCertificateIsRefused);
    CPPUNIT_TEST(testWrongCredentialsArePermanent);
    CPPUNIT_TEST(testTemporaryRefusalIsTransient);
    CPPUNIT_TEST(testRefusedConnectionIsTransient);
    CPPUNIT_TEST(testImplicitTls);
    CPPUNIT_TEST(testTwoHundredMessagesShareOneConnection);
    CPPUNIT_TEST(testAuthLogin);
    CPPUNIT_TEST(testIdleSessionIsReopened);
    CPPUNIT_TEST(testNoneIsOnlyForLoopback);
    CPPUNIT_TEST(testCertificateForAnotherNameIsRefusedEvenWhenTheHandshakeIsSlow);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        Poco::Net::initializeSSL();
        _folder = Poco::TemporaryFile::tempName();
        Poco::File(_folder + "/out").createDirectories();
        PeerProcess::makeCertificate(_folder);
    }

    void tearDown() override
    {
        _server.reset();
        Poco::File(_folder).remove(true);
        Poco::Net::uninitializeSSL();
    }

    void startServer(const std::string& mode, std::vector<std::string> extra = {})
    {
        std::vector<std::string> args{"--mode", mode, "--cert", _folder + "/server.pem", "--key", _folder + "/server.key",
                                      "--user", "mailer", "--password", "Mailer-Secret-1", "--out", _folder + "/out",
                                      "--stats", _folder + "/stats.json"};
        args.insert(args.end(), extra.begin(), extra.end());
        _server = std::make_unique<PeerProcess>("smtp_server.py", args);
    }

    std::unique_ptr<reauth::SmtpNotifier> notifier(const std::string& tls, std::map<std::string, std::string> more = {})
    {
        Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
        config->setString("host", "127.0.0.1");
        config->setString("port", _server ? _server->port() : "1");
        config->setString("tls", tls);
        config->setString("username", "mailer");
        config->setString("password", "Mailer-Secret-1");
        config->setString("ca_file", _folder + "/ca.pem");
        config->setString("from", "no-reply@example.com");
        config->setString("timeout_seconds", "5");
        for (const auto& entry : more)
            config->setString(entry.first, entry.second);
        return std::make_unique<reauth::SmtpNotifier>(*config);
    }

    static sdk::Message message(int n = 1)
    {
        sdk::Message m;
        m.id = "message-" + std::to_string(n);
        m.channel = "email";
        m.to = "alice@example.com";
        m.subject = "您的验证码";
        m.text = "Your code is\n\n123456\n";
        m.html = "<p>123456</p>";
        return m;
    }

    long stat(const std::string& key) { return jsonNumber(_folder + "/stats.json", key); }

    std::size_t delivered()
    {
        std::size_t count = 0;
        for (Poco::DirectoryIterator it(_folder + "/out"), end; it != end; ++it)
            count += it.name().size() > 4 && it.name().substr(it.name().size() - 4) == ".eml";
        return count;
    }

    void assertFails(reauth::SmtpNotifier& smtp, bool transient)
    {
        try
        {
            smtp.send(message());
            CPPUNIT_FAIL("the message was sent");
        }
        catch (const sdk::DeliveryError& error)
        {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(error.what(), transient, error.transient());
        }
    }

    void testStartTlsAndAuthDeliverTheMessage()
    {
        startServer("starttls");
        notifier("starttls")->send(message());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), delivered());
        CPPUNIT_ASSERT_EQUAL(1L, stat("starttls"));
        CPPUNIT_ASSERT_EQUAL(1L, stat("auth_successes"));
    }

    void testServerWithoutStartTlsGetsNoMessageAndNoCredentials()
    {
        startServer("plain");
        auto smtp = notifier("starttls");
        assertFails(*smtp, false);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), delivered());
        CPPUNIT_ASSERT_EQUAL(0L, stat("auth_successes") + stat("auth_failures"));
    }

    void testUntrustedCertificateIsRefused()
    {
        startServer("starttls");
        PeerProcess::makeCertificate(_folder + "/other"); // a CA that did not sign the server's certificate
        auto smtp = notifier("starttls", {{"ca_file", _folder + "/other/ca.pem"}});
        assertFails(*smtp, false);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), delivered());
        CPPUNIT_ASSERT_EQUAL(0L, stat("auth_successes") + stat("auth_failures"));
    }

    void testWrongCredentialsArePermanent()
    {
        startServer("starttls");
        auto smtp = notifier("starttls", {{"password", "Wrong-Secret-1"}});
        assertFails(*smtp, false);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), delivered());
    }

    void testTemporaryRefusalIsTransient()
    {
        startServer("starttls", {"--fail-first", "1"});
        auto smtp = notifier("starttls");
        assertFails(*smtp, true);
        smtp->send(message(2)); // a new session: the server accepts now
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), delivered());
    }

    void testRefusedConnectionIsTransient()
    {
        startServer("starttls");
        auto smtp = notifier("starttls");
        _server->stop();
        assertFails(*smtp, true);
    }

    void testImplicitTls()
    {
        startServer("implicit");
        notifier("implicit")->send(message());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), delivered());
    }

    void testTwoHundredMessagesShareOneConnection()
    {
        startServer("starttls");
        auto smtp = notifier("starttls");
        for (int n = 0; n < 200; ++n)
            smtp->send(message(n));
        CPPUNIT_ASSERT(waitFor([&] { return stat("messages") == 200; }));
        CPPUNIT_ASSERT_EQUAL(1L, stat("connections"));
        CPPUNIT_ASSERT_EQUAL(1, smtp->connections());
    }

    void testAuthLogin()
    {
        startServer("starttls");
        notifier("starttls", {{"auth", "login"}})->send(message());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), delivered());
        CPPUNIT_ASSERT_EQUAL(1L, stat("auth_successes"));
    }

    void testIdleSessionIsReopened()
    {
        startServer("starttls");
        auto smtp = notifier("starttls", {{"idle_seconds", "0"}}); // every session is idle at once
        smtp->send(message(1));
        smtp->send(message(2));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), delivered());
        CPPUNIT_ASSERT_EQUAL(2, smtp->connections());
    }

    void testNoneIsOnlyForLoopback()
    {
        Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
        config->setString("host", "smtp.example.com");
        config->setString("tls", "none");
        config->setString("from", "no-reply@example.com");
        CPPUNIT_ASSERT_THROW(reauth::SmtpNotifier{*config}, Poco::InvalidArgumentException);
    }

    void testCertificateForAnotherNameIsRefusedEvenWhenTheHandshakeIsSlow()
    {
        // A certificate our CA vouches for, but for evil.test; the server waits longer than the
        // client's read timeout before its handshake (Poco alone then skips the name check).
        PeerProcess::makeCertificate(_folder, "evil", "DNS:evil.test");
        _server = std::make_unique<PeerProcess>(
            "slow_tls_server.py", std::vector<std::string>{"--cert", _folder + "/evil.pem", "--key", _folder + "/evil.key",
                                                           "--delay", "1.5", "--log", _folder + "/slow.log"});
        auto smtp = notifier("implicit", {{"timeout_seconds", "1"}});
        assertFails(*smtp, false);
        // The server writes one line per connection when it closes: not a byte came after the handshake.
        // (The file may exist before its first line is written: wait for a whole line.)
        CPPUNIT_ASSERT(waitFor([&] {
            if (!Poco::File(_folder + "/slow.log").exists())
                return false;
            Poco::FileInputStream log(_folder + "/slow.log");
            const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
            return !text.empty() && text.back() == '\n';
        }));
        Poco::FileInputStream in(_folder + "/slow.log");
        Poco::JSON::Parser parser;
        int connections = 0;
        for (std::string line; std::getline(in, line);)
        {
            ++connections;
            CPPUNIT_ASSERT_EQUAL_MESSAGE(line, 0, parser.parse(line).extract<Poco::JSON::Object::Ptr>()->getValue<int>("received"));
            parser.reset();
        }
        CPPUNIT_ASSERT(connections >= 1);
    }

private:
    std::string _folder;
    std::unique_ptr<PeerProcess> _server;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(SmtpNotifierTest, "SmtpNotifierTest");

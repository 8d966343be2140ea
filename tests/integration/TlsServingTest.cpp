// The host serves HTTPS when server.tls.certificate and server.tls.private_key are set.
#include "support/TestServer.h"

#include <Poco/File.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Pipe.h>
#include <Poco/PipeStream.h>
#include <Poco/Process.h>
#include <Poco/StreamCopier.h>
#include <Poco/TemporaryFile.h>

#include <cppunit/extensions/HelperMacros.h>

using namespace identity::test;

class TlsServingTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(TlsServingTest);
    CPPUNIT_TEST(testServesHttpsWithTheConfiguredCertificate);
    CPPUNIT_TEST(testHalfATlsConfigurationIsRefused);
    CPPUNIT_TEST(testOnlyForwardSecretAeadSuitesAreAccepted);
    CPPUNIT_TEST(testOpensslClientCannotNegotiateRsaKeyExchangeOrCbc);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _folder = Poco::TemporaryFile::tempName();
        Poco::File(_folder).createDirectories();
        // A self-signed certificate for 127.0.0.1, made by openssl as an operator would.
        Poco::Process::Args args{"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                 "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                                 "-keyout", _folder + "/key.pem", "-out", _folder + "/cert.pem"};
        Poco::ProcessHandle openssl = Poco::Process::launch("openssl", args, nullptr, nullptr, nullptr);
        CPPUNIT_ASSERT_EQUAL(0, openssl.wait());
    }

    void tearDown() override { Poco::File(_folder).remove(true); }

    void testServesHttpsWithTheConfiguredCertificate()
    {
        TestServer server(Overrides{{"server.tls.certificate", _folder + "/cert.pem"},
                                    {"server.tls.private_key", _folder + "/key.pem"}});
        Poco::Net::Context::Params params;
        params.caLocation = _folder + "/cert.pem";
        params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
        Poco::Net::Context::Ptr trusting = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
        Poco::Net::HTTPSClientSession session("127.0.0.1", server.server().port(), trusting);
        Poco::Net::HTTPRequest request("GET", "/healthz", Poco::Net::HTTPMessage::HTTP_1_1);
        session.sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::string body;
        Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
        CPPUNIT_ASSERT_EQUAL(200, static_cast<int>(response.getStatus()));
        CPPUNIT_ASSERT(body.find("\"status\":\"ok\"") != std::string::npos);

        // Plain HTTP gets no answer from a TLS port.
        Poco::Net::HTTPClientSession plain("127.0.0.1", server.server().port());
        plain.setTimeout(Poco::Timespan(5, 0));
        Poco::Net::HTTPRequest again("GET", "/healthz", Poco::Net::HTTPMessage::HTTP_1_1);
        CPPUNIT_ASSERT_THROW(
            {
                plain.sendRequest(again);
                Poco::Net::HTTPResponse answer;
                plain.receiveResponse(answer);
            },
            Poco::Exception);
    }

    /// Whether a client offering only `ciphers` (TLS 1.2), or TLS 1.3 when `ciphers` is empty, completes
    /// a request.
    bool handshakes(TestServer& server, const std::string& ciphers)
    {
        Poco::Net::Context::Params params;
        params.caLocation = _folder + "/cert.pem";
        params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
        if (!ciphers.empty())
            params.cipherList = ciphers;
        Poco::Net::Context::Ptr client = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
        if (ciphers.empty())
            client->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_3);
        else
            client->disableProtocols(Poco::Net::Context::PROTO_TLSV1_3);
        try
        {
            Poco::Net::HTTPSClientSession session("127.0.0.1", server.server().port(), client);
            session.setTimeout(Poco::Timespan(10, 0));
            Poco::Net::HTTPRequest request("GET", "/healthz", Poco::Net::HTTPMessage::HTTP_1_1);
            session.sendRequest(request);
            Poco::Net::HTTPResponse response;
            std::string body;
            Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
            return response.getStatus() == Poco::Net::HTTPResponse::HTTP_OK;
        }
        catch (const Poco::Exception&)
        {
            return false;
        }
    }

    void testOnlyForwardSecretAeadSuitesAreAccepted()
    {
        TestServer server(Overrides{{"server.tls.certificate", _folder + "/cert.pem"},
                                    {"server.tls.private_key", _folder + "/key.pem"}});
        CPPUNIT_ASSERT(handshakes(server, "")); // TLS 1.3
        CPPUNIT_ASSERT(handshakes(server, "ECDHE-ECDSA-AES128-GCM-SHA256"));
        CPPUNIT_ASSERT(handshakes(server, "ECDHE-ECDSA-CHACHA20-POLY1305"));
        // CBC with SHA-1 and SHA-256, with and without forward secrecy (an ECDSA certificate: RSA key
        // exchange cannot be offered at all, and is not in the list either).
        for (const char* weak : {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA256",
                                 "AES128-SHA", "AES128-GCM-SHA256"})
            CPPUNIT_ASSERT_MESSAGE(weak, !handshakes(server, weak));
        CPPUNIT_ASSERT(handshakes(server, "ECDHE-ECDSA-AES256-GCM-SHA384")); // and the server still serves
    }

    /// Whether `openssl s_client`, offering only `cipher` over TLS 1.2, completes a handshake.
    static bool opensslConnects(TestServer& server, const std::string& cipher)
    {
        Poco::Process::Args args{"s_client", "-connect", "127.0.0.1:" + std::to_string(server.server().port()),
                                 "-tls1_2", "-cipher", cipher, "-brief"};
        Poco::Pipe input, output;
        Poco::ProcessHandle client = Poco::Process::launch("openssl", args, &input, &output, &output);
        input.close(); // end of input: s_client closes the connection once the handshake is done
        Poco::PipeInputStream stream(output);
        std::string printed;
        Poco::StreamCopier::copyToString(stream, printed);
        client.wait();
        return printed.find("Ciphersuite: " + cipher + "\n") != std::string::npos; // -brief prints it once connected
    }

    /// With an RSA certificate RSA key exchange could be offered: AES128-SHA was negotiated before the
    /// suites were limited. It and every CBC suite are refused; ECDHE with AEAD is served.
    void testOpensslClientCannotNegotiateRsaKeyExchangeOrCbc()
    {
        Poco::Process::Args args{"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                                 "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                                 "-keyout", _folder + "/rsa-key.pem", "-out", _folder + "/rsa-cert.pem"};
        Poco::ProcessHandle openssl = Poco::Process::launch("openssl", args, nullptr, nullptr, nullptr);
        CPPUNIT_ASSERT_EQUAL(0, openssl.wait());
        TestServer server(Overrides{{"server.tls.certificate", _folder + "/rsa-cert.pem"},
                                    {"server.tls.private_key", _folder + "/rsa-key.pem"}});
        for (const char* weak : {"AES128-SHA", "AES256-SHA", "AES128-GCM-SHA256", "AES128-SHA256",
                                 "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384"})
            CPPUNIT_ASSERT_MESSAGE(weak, !opensslConnects(server, weak));
        CPPUNIT_ASSERT(opensslConnects(server, "ECDHE-RSA-AES128-GCM-SHA256"));
        CPPUNIT_ASSERT(opensslConnects(server, "ECDHE-RSA-CHACHA20-POLY1305"));
    }

    void testHalfATlsConfigurationIsRefused()
    {
        CPPUNIT_ASSERT_THROW(TestServer(Overrides{{"server.tls.certificate", _folder + "/cert.pem"}}),
                             Poco::InvalidArgumentException);
    }

private:
    std::string _folder;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(TlsServingTest, "TlsServingTest");

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

    void testHalfATlsConfigurationIsRefused()
    {
        CPPUNIT_ASSERT_THROW(TestServer(Overrides{{"server.tls.certificate", _folder + "/cert.pem"}}),
                             Poco::InvalidArgumentException);
    }

private:
    std::string _folder;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(TlsServingTest, "TlsServingTest");

// The host's HTTP layer: every malformed or hostile request gets its row of the error table, in the
// CloudBase envelope, with the security headers, and never a 500 or a dropped connection.
#include "support/TestServer.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>

#include <cppunit/extensions/HelperMacros.h>

using namespace identity::test;

class HttpErrorTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(HttpErrorTest);
    CPPUNIT_TEST(testUnknownPathIs404);
    CPPUNIT_TEST(testWrongMethodIs405WithAllow);
    CPPUNIT_TEST(testBodyOverTheLimitIs413);
    CPPUNIT_TEST(testChunkedBodyOverTheLimitIs413);
    CPPUNIT_TEST(testOtherMediaTypeIs415);
    CPPUNIT_TEST(testMalformedJsonIs4001);
    CPPUNIT_TEST(testJsonThatIsNotAnObjectIs4001);
    CPPUNIT_TEST(testNulInJsonTextIs4001);
    CPPUNIT_TEST(testDuplicateKeysAre4001);
    CPPUNIT_TEST(testDeeplyNestedJsonIs4001);
    CPPUNIT_TEST(testUnknownClientIdIs4001);
    CPPUNIT_TEST(testMissingOrMalformedBearerIs401);
    CPPUNIT_TEST(testResponsesCarryNoStoreAndRequestId);
    CPPUNIT_TEST(testHostileRequestIdIsReplaced);
    CPPUNIT_TEST(testErrorDescriptionFollowsAcceptLanguage);
    CPPUNIT_TEST(testCloudBaseClientShapedRequestIsServed);
    CPPUNIT_TEST(testHealthAndMetricsAnswer);
    CPPUNIT_TEST(testAmbiguousFramingIsRefusedAndTheConnectionClosed);
    CPPUNIT_TEST(testBrokenChunkIsRefused);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { _server = std::make_unique<TestServer>(); }
    void tearDown() override { _server.reset(); }

    void assertError(const HttpResult& result, int status, const std::string& error, int code)
    {
        CPPUNIT_ASSERT_EQUAL_MESSAGE(result.body, status, result.status);
        CPPUNIT_ASSERT_MESSAGE(result.body, result.json);
        CPPUNIT_ASSERT_EQUAL(error, result.string("error"));
        CPPUNIT_ASSERT_EQUAL(code, result.errorCode());
        CPPUNIT_ASSERT(!result.string("error_description").empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), result.json->size());
    }

    void testUnknownPathIs404()
    {
        assertError(_server->request("GET", "/auth/v1/nothing"), 404, "not_found", 4040);
        assertError(_server->request("POST", "/auth/v1/user/reauthenticate/"), 404, "not_found", 4040);
    }

    void testWrongMethodIs405WithAllow()
    {
        const HttpResult result = _server->request("GET", "/auth/v1/user/reauthenticate");
        assertError(result, 405, "invalid_argument", 4050);
        CPPUNIT_ASSERT_EQUAL(std::string("POST"), result.headers.get("Allow", ""));
        const HttpResult me = _server->request("PUT", "/auth/v1/user/me");
        CPPUNIT_ASSERT_EQUAL(std::string("DELETE, GET"), me.headers.get("Allow", ""));
    }

    void testBodyOverTheLimitIs413()
    {
        const std::string body = "{\"verify_opt\":\"" + std::string(20000, 'a') + "\"}";
        assertError(_server->request("POST", "/auth/v1/signin", body), 413, "invalid_argument", 4130);
    }

    void testChunkedBodyOverTheLimitIs413()
    {
        Poco::Net::HTTPClientSession session("127.0.0.1", _server->server().port());
        Poco::Net::HTTPRequest request("POST", "/auth/v1/signin", Poco::Net::HTTPMessage::HTTP_1_1);
        request.setChunkedTransferEncoding(true);
        request.setContentType("application/json");
        std::ostream& out = session.sendRequest(request);
        out << "{\"username\":\"" << std::string(40000, 'a') << "\"}";
        Poco::Net::HTTPResponse response;
        std::string body;
        Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(body, 413, static_cast<int>(response.getStatus()));
        CPPUNIT_ASSERT(body.find("4130") != std::string::npos);
    }

    void testOtherMediaTypeIs415()
    {
        assertError(_server->request("POST", "/auth/v1/signin", "<a/>", {}, "application/xml"), 415,
                    "invalid_argument", 4150);
        assertError(_server->request("POST", "/auth/v1/signin", "a=b", {}, "application/x-www-form-urlencoded"), 415,
                    "invalid_argument", 4150);
    }

    void testMalformedJsonIs4001()
    {
        assertError(_server->request("POST", "/auth/v1/signin", "{\"username\":"), 400, "invalid_argument", 4001);
        assertError(_server->request("POST", "/auth/v1/signin", "\xff\xfe"), 400, "invalid_argument", 4001);
    }

    void testNulInJsonTextIs4001()
    {
        // Valid JSON, but a NUL would be cut short by PostgreSQL's client library: "alice\0zzz" must not
        // sign in as alice. Refused before anything reads it, in a value, a key or deep inside.
        for (const char* body : {"{\"username\":\"alice\\u0000zzz\",\"password\":\"x\"}",
                                 "{\"user\\u0000name\":\"alice\",\"password\":\"x\"}",
                                 "{\"username\":\"alice\",\"password\":\"x\",\"extra\":[{\"a\":\"\\u0000\"}]}"})
            assertError(_server->request("POST", "/auth/v1/signin", body), 400, "invalid_argument", 4001);
    }

    void testDuplicateKeysAre4001()
    {
        // Poco keeps the last of two; something in front of the host may have checked the first.
        for (const char* body : {"{\"username\":\"alice\",\"password\":\"x\",\"password\":\"y\"}",
                                 "{\"username\":\"alice\",\"password\":\"x\",\"extra\":{\"a\":1,\"a\":2}}",
                                 "{\"username\":\"alice\",\"password\":\"x\",\"extra\":[{\"a\":1,\"a\":1}]}",
                                 // the same key spelt with an escape
                                 "{\"username\":\"alice\",\"password\":\"x\",\"\\u0070assword\":\"y\"}"})
            assertError(_server->request("POST", "/auth/v1/signin", body), 400, "invalid_argument", 4001);
        // The same key in two objects is no duplicate: this gets as far as the password check.
        const HttpResult distinct = _server->request(
            "POST", "/auth/v1/signin",
            "{\"username\":\"nobody\",\"password\":\"x\",\"a\":{\"k\":1},\"b\":[{\"k\":1},{\"k\":2}]}");
        CPPUNIT_ASSERT_EQUAL(401, distinct.status);
    }

    void testJsonThatIsNotAnObjectIs4001()
    {
        for (const char* body : {"[]", "\"text\"", "42", "null", "true"})
            assertError(_server->request("POST", "/auth/v1/signin", body), 400, "invalid_argument", 4001);
    }

    void testDeeplyNestedJsonIs4001()
    {
        const std::string body = "{\"a\":" + std::string(5000, '[') + std::string(5000, ']') + "}";
        assertError(_server->request("POST", "/auth/v1/signin", body), 400, "invalid_argument", 4001);
    }

    void testUnknownClientIdIs4001()
    {
        assertError(_server->request("POST", "/auth/v1/signin?client_id=evil", "{}"), 400, "invalid_argument", 4001);
    }

    void testMissingOrMalformedBearerIs401()
    {
        const std::string path = "/auth/v1/user/reauthenticate";
        const std::string body = "{\"verify_opt\":\"email_code\"}";
        assertError(_server->request("POST", path, body), 401, "unauthenticated", 4010);
        for (const char* value : {"Bearer", "Bearer ", "Basic YWxpY2U6cHc=", "Bearer not.a.token", "Bearer a.b",
                                  "Bearer ....", "bearer eyJhbGciOiJub25lIn0.e30."})
            assertError(_server->request("POST", path, body, {{"Authorization", value}}), 401, "unauthenticated",
                        4010);
    }

    void testResponsesCarryNoStoreAndRequestId()
    {
        const HttpResult result = _server->request("GET", "/auth/v1/nothing", "", {{"x-request-id", "req-42.a_b"}});
        CPPUNIT_ASSERT_EQUAL(std::string("no-store"), result.headers.get("Cache-Control", ""));
        CPPUNIT_ASSERT_EQUAL(std::string("req-42.a_b"), result.headers.get("X-Request-Id", ""));
        CPPUNIT_ASSERT_EQUAL(std::string("application/json; charset=utf-8"), result.headers.get("Content-Type", ""));
        const HttpResult generated = _server->request("GET", "/healthz");
        CPPUNIT_ASSERT_EQUAL(std::size_t(32), generated.headers.get("X-Request-Id", "").size());
    }

    void testHostileRequestIdIsReplaced()
    {
        const HttpResult result =
            _server->request("GET", "/healthz", "", {{"x-request-id", "abc\"}{\"forged\":\"line"}});
        const std::string id = result.headers.get("X-Request-Id", "");
        CPPUNIT_ASSERT(id.find('"') == std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::size_t(32), id.size());
    }

    void testErrorDescriptionFollowsAcceptLanguage()
    {
        const HttpResult zh = _server->request("GET", "/auth/v1/nothing", "", {{"Accept-Language", "zh-CN,zh;q=0.9"}});
        CPPUNIT_ASSERT_EQUAL(std::string("资源不存在"), zh.string("error_description"));
        const HttpResult any = _server->request("GET", "/auth/v1/nothing", "", {{"Accept-Language", "*"}});
        CPPUNIT_ASSERT_EQUAL(std::string("Not found"), any.string("error_description"));
    }

    void testCloudBaseClientShapedRequestIsServed()
    {
        _server->createUser("carol", "carol@example.com", "");
        const HttpResult result = _server->request(
            "POST", "/auth/v1/signin?client_id=dev",
            "{\"username\":\"carol\",\"password\":\"Correct-Horse-9\",\"client_id\":\"dev\"}",
            {{"Accept-Language", "*"}, {"undefined", "undefined"}, {"x-device-id", "device-1"},
             {"x-request-id", "cloudbase-req-1"}},
            "text/plain;charset=UTF-8");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(result.body, 200, result.status);
        recordSecret(result.string("access_token"));
        recordSecret(result.string("refresh_token"));
        CPPUNIT_ASSERT_EQUAL(std::string("cloudbase-req-1"), result.headers.get("X-Request-Id", ""));
        CPPUNIT_ASSERT_EQUAL(std::string("Bearer"), result.string("token_type"));
        CPPUNIT_ASSERT_EQUAL(7200, result.json->getValue<int>("expires_in"));
    }

    void testHealthAndMetricsAnswer()
    {
        const HttpResult health = _server->request("GET", "/healthz");
        CPPUNIT_ASSERT_EQUAL(200, health.status);
        CPPUNIT_ASSERT_EQUAL(std::string("ok"), health.string("status"));
        const HttpResult metrics = _server->request("GET", "/metrics");
        CPPUNIT_ASSERT_EQUAL(200, metrics.status);
        CPPUNIT_ASSERT(metrics.body.find("identity_http_requests_total{class=\"2xx\"}") != std::string::npos);
        CPPUNIT_ASSERT(metrics.body.find("identity_plugins_running 1") != std::string::npos);
    }

    /// Sends raw bytes and reads until the server closes the connection.
    std::string exchange(const std::string& raw)
    {
        Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", _server->server().port()));
        socket.setReceiveTimeout(Poco::Timespan(20, 0));
        socket.sendBytes(raw.data(), static_cast<int>(raw.size()));
        std::string answer;
        char buffer[4096];
        for (int n; (n = socket.receiveBytes(buffer, sizeof buffer)) > 0;)
            answer.append(buffer, static_cast<std::size_t>(n));
        return answer;
    }

    static int responses(const std::string& answer)
    {
        int count = 0;
        for (std::size_t at = answer.find("HTTP/1.1 "); at != std::string::npos; at = answer.find("HTTP/1.1 ", at + 1))
            ++count;
        return count;
    }

    void testAmbiguousFramingIsRefusedAndTheConnectionClosed()
    {
        const std::string smuggled = "GET /auth/v1/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
        for (const std::string& headers :
             {std::string("Content-Length: -1\r\n"), std::string("Content-Length: 2\r\nContent-Length: 60\r\n"),
              std::string("Transfer-Encoding: gzip, chunked\r\n"), std::string("Transfer-Encoding: identity\r\n"),
              std::string("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"),
              std::string("Content-Length: +5\r\n")})
        {
            const std::string answer = exchange("POST /auth/v1/revoke HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
                                                headers + "\r\n" + smuggled);
            CPPUNIT_ASSERT_MESSAGE(headers + answer, answer.rfind("HTTP/1.1 400", 0) == 0);
            CPPUNIT_ASSERT_MESSAGE(headers + answer, answer.find("\"error_code\":4001") != std::string::npos);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(headers + answer, 1, responses(answer));
        }
    }

    void testBrokenChunkIsRefused()
    {
        const std::string answer = exchange(
            "POST /auth/v1/revoke HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\nGET /auth/v1/smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
        CPPUNIT_ASSERT_MESSAGE(answer, answer.rfind("HTTP/1.1 400", 0) == 0);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(answer, 1, responses(answer));
    }

private:
    std::unique_ptr<TestServer> _server;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(HttpErrorTest, "HttpErrorTest");

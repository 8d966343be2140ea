#include "app/JsonLogFormatter.h"
#include "http/HttpRequestParser.h"

#include <cppunit/extensions/HelperMacros.h>

using namespace identity::host;

/// The connection front's request parser: what it takes as one request, where it draws the line between
/// requests, and what it refuses (a lenient parser lets a proxy and the host read one message two ways).
class HttpRequestParserTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(HttpRequestParserTest);
    CPPUNIT_TEST(testAHeadArrivingByteByByteIsOneRequest);
    CPPUNIT_TEST(testPipelinedRequestsComeOutOneByOne);
    CPPUNIT_TEST(testKeepAliveFollowsTheVersionAndConnection);
    CPPUNIT_TEST(testContentLengthBodyIsReadWhole);
    CPPUNIT_TEST(testChunkedBodyIsDecodedAndTrailersDropped);
    CPPUNIT_TEST(testBodiesOverTheLimitAreMarkedAndEndTheConnection);
    CPPUNIT_TEST(testAmbiguousFramingIsMarkedAndEndsTheConnection);
    CPPUNIT_TEST(testBrokenChunksAreMarkedMalformed);
    CPPUNIT_TEST(testHeadsThatDoNotParseFail400);
    CPPUNIT_TEST(testHeadsOverTheLimitsFail431);
    CPPUNIT_TEST(testExpectContinueIsAskedOnlyForABody);
    CPPUNIT_TEST(testLogLinesAreMadeValidUtf8);
    CPPUNIT_TEST_SUITE_END();

    static HttpRequestParser::Limits limits()
    {
        HttpRequestParser::Limits limits;
        limits.maxHeadBytes = 1024;
        limits.maxFields = 10;
        limits.maxBodyBytes = 64;
        return limits;
    }

    static HttpRequestParser::Result feed(HttpRequestParser& parser, const std::string& bytes)
    {
        return parser.feed(bytes.data(), bytes.size());
    }

    /// The failure of a head, as "status key", or "complete"/"more".
    static std::string outcome(const std::string& bytes)
    {
        HttpRequestParser parser(limits());
        switch (feed(parser, bytes))
        {
        case HttpRequestParser::Result::Complete: return "complete";
        case HttpRequestParser::Result::NeedMore: return "more";
        default: return std::to_string(parser.failureStatus()) + " " + parser.failureKey();
        }
    }

    static BodyProblem problemOf(const std::string& bytes)
    {
        HttpRequestParser parser(limits());
        CPPUNIT_ASSERT(feed(parser, bytes) == HttpRequestParser::Result::Complete);
        const HttpRequest request = parser.take();
        if (request.problem != BodyProblem::None)
            CPPUNIT_ASSERT(!request.keepAlive); // where such a body ends is unknown: nothing may follow it
        return request.problem;
    }

public:
    void testAHeadArrivingByteByByteIsOneRequest()
    {
        const std::string head = "GET /healthz?x=1 HTTP/1.1\r\nHost: a\r\nX-Two: one\r\nx-two: two\r\n\r\n";
        HttpRequestParser parser(limits());
        for (std::size_t i = 0; i + 1 < head.size(); ++i)
            CPPUNIT_ASSERT(feed(parser, head.substr(i, 1)) == HttpRequestParser::Result::NeedMore);
        CPPUNIT_ASSERT(parser.started());
        CPPUNIT_ASSERT(feed(parser, head.substr(head.size() - 1)) == HttpRequestParser::Result::Complete);
        const HttpRequest request = parser.take();
        CPPUNIT_ASSERT_EQUAL(std::string("GET"), request.head.method);
        CPPUNIT_ASSERT_EQUAL(std::string("/healthz?x=1"), request.head.target);
        CPPUNIT_ASSERT_EQUAL(std::string("a"), request.head.get("host"));
        CPPUNIT_ASSERT_EQUAL(std::string("one, two"), request.head.all("X-TWO"));
        CPPUNIT_ASSERT(request.body.empty());
        CPPUNIT_ASSERT(!parser.started());
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), parser.buffered());
    }

    void testPipelinedRequestsComeOutOneByOne()
    {
        HttpRequestParser parser(limits());
        // Empty lines before a request line are tolerated (RFC 9112 section 2.2).
        CPPUNIT_ASSERT(feed(parser, "\r\nPOST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nokGET /b HTTP/1.1\r\n\r\nGET /c") ==
                       HttpRequestParser::Result::Complete);
        HttpRequest first = parser.take();
        CPPUNIT_ASSERT_EQUAL(std::string("/a"), first.head.target);
        CPPUNIT_ASSERT_EQUAL(std::string("ok"), first.body);
        CPPUNIT_ASSERT(parser.advance() == HttpRequestParser::Result::Complete);
        CPPUNIT_ASSERT_EQUAL(std::string("/b"), parser.take().head.target);
        CPPUNIT_ASSERT(parser.advance() == HttpRequestParser::Result::NeedMore);
        CPPUNIT_ASSERT(parser.started()); // "GET /c" is the start of the next one

        // Blank lines after a request are no start of another: the connection is idle, not half-way.
        HttpRequestParser blank(limits());
        CPPUNIT_ASSERT(feed(blank, "GET / HTTP/1.1\r\n\r\n\r\n") == HttpRequestParser::Result::Complete);
        blank.take();
        CPPUNIT_ASSERT(!blank.started());
        CPPUNIT_ASSERT(blank.advance() == HttpRequestParser::Result::NeedMore);
    }

    void testKeepAliveFollowsTheVersionAndConnection()
    {
        auto keepAlive = [](const std::string& head) {
            HttpRequestParser parser(limits());
            CPPUNIT_ASSERT(feed(parser, head) == HttpRequestParser::Result::Complete);
            return parser.take().keepAlive;
        };
        CPPUNIT_ASSERT(keepAlive("GET / HTTP/1.1\r\n\r\n"));
        CPPUNIT_ASSERT(!keepAlive("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n"));
        CPPUNIT_ASSERT(!keepAlive("GET / HTTP/1.0\r\n\r\n"));
        CPPUNIT_ASSERT(keepAlive("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    }

    void testContentLengthBodyIsReadWhole()
    {
        HttpRequestParser parser(limits());
        CPPUNIT_ASSERT(feed(parser, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n01234") ==
                       HttpRequestParser::Result::NeedMore);
        CPPUNIT_ASSERT(feed(parser, "56789") == HttpRequestParser::Result::Complete);
        const HttpRequest request = parser.take();
        CPPUNIT_ASSERT_EQUAL(std::string("0123456789"), request.body);
        CPPUNIT_ASSERT(request.problem == BodyProblem::None);
        CPPUNIT_ASSERT(request.keepAlive);
    }

    void testChunkedBodyIsDecodedAndTrailersDropped()
    {
        HttpRequestParser parser(limits());
        const std::string message = "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
                                    "4;name=value\r\nabcd\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nGET /next HTTP/1.1\r\n\r\n";
        for (std::size_t i = 0; i < message.size(); i += 3) // in pieces that cut every part somewhere
            if (feed(parser, message.substr(i, 3)) == HttpRequestParser::Result::Complete)
                break;
        const HttpRequest request = parser.take();
        CPPUNIT_ASSERT_EQUAL(std::string("abcd0123456789"), request.body);
        CPPUNIT_ASSERT(request.problem == BodyProblem::None);
        CPPUNIT_ASSERT(request.keepAlive);
    }

    void testBodiesOverTheLimitAreMarkedAndEndTheConnection()
    {
        CPPUNIT_ASSERT(problemOf("POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n") == BodyProblem::TooLarge);
        CPPUNIT_ASSERT(problemOf("POST / HTTP/1.1\r\nContent-Length: 999999999999999999\r\n\r\n") == BodyProblem::TooLarge);
        CPPUNIT_ASSERT(problemOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" + std::string(32, 'a') +
                                 "\r\n21\r\n") == BodyProblem::TooLarge);
        // Framing counts: one-byte chunks with long extensions, or trailers without end, are cut off.
        std::string chunks;
        for (int i = 0; i < 60; ++i)
            chunks += "1;" + std::string(1000, 'e') + "\r\na\r\n";
        CPPUNIT_ASSERT(problemOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks) == BodyProblem::TooLarge);
        std::string trailers;
        for (int i = 0; i < 600; ++i)
            trailers += "X-T: " + std::string(100, 't') + "\r\n";
        CPPUNIT_ASSERT(problemOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + trailers) ==
                       BodyProblem::TooLarge);
        // Exactly the limit is fine.
        CPPUNIT_ASSERT(problemOf("POST / HTTP/1.1\r\nContent-Length: 64\r\n\r\n" + std::string(64, 'a')) ==
                       BodyProblem::None);
    }

    void testAmbiguousFramingIsMarkedAndEndsTheConnection()
    {
        for (const char* head : {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
                                 "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                                 "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                                 "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                                 "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                                 "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
                                 "POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n",
                                 "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n",
                                 // RFC 9112 section 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing.
                                 "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"})
            CPPUNIT_ASSERT_MESSAGE(head, problemOf(head) == BodyProblem::Framing);
    }

    void testBrokenChunksAreMarkedMalformed()
    {
        const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        CPPUNIT_ASSERT(problemOf(head + "zz\r\n") == BodyProblem::Malformed);
        CPPUNIT_ASSERT(problemOf(head + "-1\r\n") == BodyProblem::Malformed);
        CPPUNIT_ASSERT(problemOf(head + "2\r\nabXX") == BodyProblem::Malformed); // no CRLF after the data
        CPPUNIT_ASSERT(problemOf(head + std::string(2000, '1')) == BodyProblem::Malformed); // a size line without end
        // A bare LF in an extension is a line end to some proxies ("funky chunks"); space before the size.
        CPPUNIT_ASSERT(problemOf(head + "2;a\nxx\r\nzz\r\n0\r\n\r\n") == BodyProblem::Malformed);
        CPPUNIT_ASSERT(problemOf(head + " 2\r\nzz\r\n0\r\n\r\n") == BodyProblem::Malformed);
        CPPUNIT_ASSERT(problemOf(head + "2 x\r\nzz\r\n0\r\n\r\n") == BodyProblem::Malformed);
        CPPUNIT_ASSERT(problemOf(head + "2 ; ext=1\r\nzz\r\n0\r\n\r\n") == BodyProblem::None);
        // Trailers are fields, checked as such.
        CPPUNIT_ASSERT(problemOf(head + "0\r\nX\nY\x01\r\n\r\n") == BodyProblem::Malformed);
        CPPUNIT_ASSERT(problemOf(head + "0\r\nNo colon\r\n\r\n") == BodyProblem::Malformed);
        CPPUNIT_ASSERT(problemOf(head + "0\r\nX-Sum: 1\r\n\r\n") == BodyProblem::None);
    }

    void testHeadsThatDoNotParseFail400()
    {
        for (const char* head : {"GARBAGE\r\n\r\n",
                                 "GET /\r\n\r\n",
                                 "GET / HTTP/2.0\r\n\r\n",
                                 "GET / http/1.1\r\n\r\n",
                                 "G(T / HTTP/1.1\r\n\r\n",
                                 "GET /a b HTTP/1.1\r\n\r\n",
                                 "GET / HTTP/1.1\r\nHost : a\r\n\r\n",      // space before the colon
                                 "GET / HTTP/1.1\r\nX-A: a\r\n folded\r\n\r\n", // obs-fold
                                 "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
                                 "GET / HTTP/1.1\r\nX-A: a\x01z\r\n\r\n",
                                 "GET / HTTP/1.1\r\nX-A: a\rz\r\n\r\n"})
            CPPUNIT_ASSERT_EQUAL_MESSAGE(head, std::string("400 malformed_head"), outcome(head));
        static const char withNul[] = "GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n";
        CPPUNIT_ASSERT_EQUAL(std::string("400 malformed_head"), outcome(std::string(withNul, sizeof withNul - 1)));
        // obs-text in a value is allowed (RFC 9110 section 5.5), and so is a tab.
        CPPUNIT_ASSERT_EQUAL(std::string("complete"), outcome("GET / HTTP/1.1\r\nX-A: caf\xc3\xa9\tb\r\n\r\n"));
    }

    void testHeadsOverTheLimitsFail431()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("431 header_too_large"),
                             outcome("GET / HTTP/1.1\r\nX-A: " + std::string(1100, 'a'))); // no end in sight
        CPPUNIT_ASSERT_EQUAL(std::string("431 header_too_large"),
                             outcome("GET / HTTP/1.1\r\nX-A: " + std::string(1010, 'a') + "\r\n\r\n"));
        std::string fields;
        for (int i = 0; i < 11; ++i)
            fields += "X-" + std::to_string(i) + ": v\r\n";
        CPPUNIT_ASSERT_EQUAL(std::string("431 header_too_large"), outcome("GET / HTTP/1.1\r\n" + fields + "\r\n"));
        CPPUNIT_ASSERT_EQUAL(std::string("more"), outcome("GET / HTTP/1.1\r\nX-A: " + std::string(900, 'a')));
    }

    void testExpectContinueIsAskedOnlyForABody()
    {
        HttpRequestParser parser(limits());
        CPPUNIT_ASSERT(feed(parser, "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n") ==
                       HttpRequestParser::Result::NeedMore);
        CPPUNIT_ASSERT(parser.wantsContinue());
        parser.continueSent();
        CPPUNIT_ASSERT(!parser.wantsContinue());
        CPPUNIT_ASSERT(feed(parser, "{}") == HttpRequestParser::Result::Complete);
        CPPUNIT_ASSERT_EQUAL(std::string("{}"), parser.take().body);

        HttpRequestParser chunked(limits());
        CPPUNIT_ASSERT(feed(chunked, "POST / HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n") ==
                       HttpRequestParser::Result::NeedMore);
        CPPUNIT_ASSERT(chunked.wantsContinue());

        HttpRequestParser tooLarge(limits());
        // Over the limit: answered (413) at once, without asking for the body.
        CPPUNIT_ASSERT(feed(tooLarge, "POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n") ==
                       HttpRequestParser::Result::Complete);
        CPPUNIT_ASSERT(!tooLarge.wantsContinue());
    }

    void testLogLinesAreMadeValidUtf8()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("/x\xEF\xBF\xBD\xEF\xBF\xBD"), JsonLogFormatter::validUtf8("/x\xff\xfe"));
        CPPUNIT_ASSERT_EQUAL(std::string("caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80"),
                             JsonLogFormatter::validUtf8("caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80"));
        // Overlong, surrogate, above U+10FFFF, cut short: one replacement for each byte that starts nothing.
        CPPUNIT_ASSERT_EQUAL(std::string("\xEF\xBF\xBD\xEF\xBF\xBD"), JsonLogFormatter::validUtf8("\xc0\xaf"));
        CPPUNIT_ASSERT_EQUAL(std::string("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"), JsonLogFormatter::validUtf8("\xed\xa0\x80"));
        CPPUNIT_ASSERT_EQUAL(std::string(4 * 3, 'x').size(), JsonLogFormatter::validUtf8("\xf4\x90\x80\x80").size());
        CPPUNIT_ASSERT_EQUAL(std::string("a\xEF\xBF\xBD\xEF\xBF\xBD"), JsonLogFormatter::validUtf8("a\xe4\xb8"));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(HttpRequestParserTest, "HttpRequestParserTest");

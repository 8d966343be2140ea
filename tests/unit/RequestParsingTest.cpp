#include "http/RequestPipeline.h"
#include "http/RouteTable.h"

#include "identity/sdk/ApiError.h"

#include <Poco/Exception.h>

#include <cppunit/extensions/HelperMacros.h>

using namespace identity::host;

class RequestParsingTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(RequestParsingTest);
    CPPUNIT_TEST(testAcceptLanguagePicksChineseOnlyWhenPreferred);
    CPPUNIT_TEST(testRouteTableTellsUnknownPathFromWrongMethod);
    CPPUNIT_TEST(testRouteTableRefusesDuplicates);
    CPPUNIT_TEST(testJsonBodyIsAnObject);
    CPPUNIT_TEST(testJsonBodyNamingAKeyTwiceIsMalformed);
    CPPUNIT_TEST(testJsonBodyWithNulOrTooDeepIsMalformed);
    CPPUNIT_TEST_SUITE_END();

    /// parseJsonBody's refusal as "400 4001 malformed_json", or "accepted".
    static std::string parsed(const std::string& body)
    {
        try
        {
            RequestPipeline::parseJsonBody(body);
            return "accepted";
        }
        catch (const identity::sdk::ApiError& error)
        {
            return std::to_string(error.status()) + " " + std::to_string(error.errorCode()) + " " +
                   error.descriptionKey();
        }
    }

public:
    void testAcceptLanguagePicksChineseOnlyWhenPreferred()
    {
        // "": no preference, the user's locale decides.
        CPPUNIT_ASSERT_EQUAL(std::string(""), RequestPipeline::preferredLocale(""));
        CPPUNIT_ASSERT_EQUAL(std::string(""), RequestPipeline::preferredLocale("*"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), RequestPipeline::preferredLocale("fr-FR, de;q=0.5"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), RequestPipeline::preferredLocale("*, zh;q=0.5"));
        CPPUNIT_ASSERT_EQUAL(std::string("zh"), RequestPipeline::preferredLocale("*;q=0.5, zh"));
        CPPUNIT_ASSERT_EQUAL(std::string("en"), RequestPipeline::preferredLocale("fr, en;q=0.5"));
        CPPUNIT_ASSERT_EQUAL(std::string("en"), RequestPipeline::preferredLocale("en-US, *;q=0.5"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), RequestPipeline::preferredLocale("zh;q=0, en;q=0"));
        CPPUNIT_ASSERT_EQUAL(std::string("zh"), RequestPipeline::preferredLocale("zh"));
        CPPUNIT_ASSERT_EQUAL(std::string("zh"), RequestPipeline::preferredLocale("zh-CN,zh;q=0.9,en;q=0.8"));
        CPPUNIT_ASSERT_EQUAL(std::string("zh"), RequestPipeline::preferredLocale("ZH-Hans"));
        CPPUNIT_ASSERT_EQUAL(std::string("en"), RequestPipeline::preferredLocale("en-US,zh;q=0.5"));
        CPPUNIT_ASSERT_EQUAL(std::string("zh"), RequestPipeline::preferredLocale("en;q=0.4, zh-TW;q=0.8"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), RequestPipeline::preferredLocale("zhx"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), RequestPipeline::preferredLocale(";;;,q=,"));
    }

    void testRouteTableTellsUnknownPathFromWrongMethod()
    {
        RouteTable table;
        table.addRoute({"POST", "/a", identity::sdk::Route::Auth::None, [](auto&, auto&) {}}, nullptr);
        table.addRoute({"PATCH", "/a", identity::sdk::Route::Auth::None, [](auto&, auto&) {}}, nullptr);
        std::string allow;
        bool known = false;
        CPPUNIT_ASSERT(table.find("POST", "/a", allow, known) != nullptr);
        CPPUNIT_ASSERT(table.find("GET", "/a", allow, known) == nullptr);
        CPPUNIT_ASSERT(known);
        CPPUNIT_ASSERT_EQUAL(std::string("PATCH, POST"), allow);
        CPPUNIT_ASSERT(table.find("POST", "/b", allow, known) == nullptr);
        CPPUNIT_ASSERT(!known);
    }

    void testRouteTableRefusesDuplicates()
    {
        RouteTable table;
        table.addRoute({"POST", "/a", identity::sdk::Route::Auth::None, [](auto&, auto&) {}}, nullptr);
        CPPUNIT_ASSERT_THROW(
            table.addRoute({"POST", "/a", identity::sdk::Route::Auth::None, [](auto&, auto&) {}}, nullptr),
            Poco::ExistsException);
    }

    void testJsonBodyIsAnObject()
    {
        const Poco::JSON::Object::Ptr body =
            RequestPipeline::parseJsonBody(R"({"username":"ann","nested":{"a":[1,{"a":2}]},"a":"\u00e9"})");
        CPPUNIT_ASSERT_EQUAL(std::string("ann"), body->getValue<std::string>("username"));
        CPPUNIT_ASSERT_EQUAL(std::string("\xc3\xa9"), body->getValue<std::string>("a"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), RequestPipeline::parseJsonBody("{}")->size());
        const std::string malformed = "400 4001 malformed_json";
        for (const char* body : {"[]", "\"text\"", "1", "null", "", "{", "{\"a\":}", "{} {}", "{\"a\":1,}"})
            CPPUNIT_ASSERT_EQUAL_MESSAGE(body, malformed, parsed(body));
    }

    void testJsonBodyNamingAKeyTwiceIsMalformed()
    {
        const std::string malformed = "400 4001 malformed_json";
        CPPUNIT_ASSERT_EQUAL(malformed, parsed(R"({"password":"checked","password":"used"})"));
        CPPUNIT_ASSERT_EQUAL(malformed, parsed(R"({"a":{"b":1,"b":2}})"));
        CPPUNIT_ASSERT_EQUAL(malformed, parsed(R"({"a":[{"b":1,"b":2}]})"));
        CPPUNIT_ASSERT_EQUAL(malformed, parsed(R"({"a":1,"\u0061":2})")); // the same key, escaped
        // The same key in different objects is no duplicate.
        CPPUNIT_ASSERT_EQUAL(std::string("accepted"), parsed(R"({"a":{"a":1},"b":[{"a":1},{"a":2}]})"));
    }

    void testJsonBodyWithNulOrTooDeepIsMalformed()
    {
        const std::string malformed = "400 4001 malformed_json";
        CPPUNIT_ASSERT_EQUAL(malformed, parsed(R"({"a":"x\u0000y"})"));
        // Poco cut a key at its NUL: this arrived as "password", unseen by anything that looked for it.
        CPPUNIT_ASSERT_EQUAL(malformed, parsed(R"({"a\u0000":1})"));
        CPPUNIT_ASSERT_EQUAL(malformed, parsed(R"({"password\u0000x":"used"})"));
        CPPUNIT_ASSERT_EQUAL(malformed, parsed(R"({"a":{"\\\u0000":1}})"));
        // An escaped backslash before "u0000" is no NUL.
        CPPUNIT_ASSERT_EQUAL(std::string("accepted"), parsed(R"({"a\\u0000":"\\u0000"})"));
        CPPUNIT_ASSERT_EQUAL(malformed, parsed(R"({"a":[["\u0000"]]})"));
        std::string deep = "{\"a\":", close = "}";
        for (int i = 0; i < 40; ++i)
            deep += "[", close = "]" + close;
        CPPUNIT_ASSERT_EQUAL(malformed, parsed(deep + "1" + close));
        std::string shallow = "{\"a\":", end = "}";
        for (int i = 0; i < 20; ++i)
            shallow += "[", end = "]" + end;
        CPPUNIT_ASSERT_EQUAL(std::string("accepted"), parsed(shallow + "1" + end));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(RequestParsingTest, "RequestParsingTest");

#include "http/HostRequestHandler.h"
#include "http/RouteTable.h"

#include <Poco/Exception.h>

#include <cppunit/extensions/HelperMacros.h>

using namespace identity::host;

class RequestParsingTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(RequestParsingTest);
    CPPUNIT_TEST(testAcceptLanguagePicksChineseOnlyWhenPreferred);
    CPPUNIT_TEST(testRouteTableTellsUnknownPathFromWrongMethod);
    CPPUNIT_TEST(testRouteTableRefusesDuplicates);
    CPPUNIT_TEST_SUITE_END();

public:
    void testAcceptLanguagePicksChineseOnlyWhenPreferred()
    {
        // "": no preference, the user's locale decides.
        CPPUNIT_ASSERT_EQUAL(std::string(""), HostRequestHandler::preferredLocale(""));
        CPPUNIT_ASSERT_EQUAL(std::string(""), HostRequestHandler::preferredLocale("*"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), HostRequestHandler::preferredLocale("fr-FR, de;q=0.5"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), HostRequestHandler::preferredLocale("*, zh;q=0.5"));
        CPPUNIT_ASSERT_EQUAL(std::string("zh"), HostRequestHandler::preferredLocale("*;q=0.5, zh"));
        CPPUNIT_ASSERT_EQUAL(std::string("en"), HostRequestHandler::preferredLocale("fr, en;q=0.5"));
        CPPUNIT_ASSERT_EQUAL(std::string("en"), HostRequestHandler::preferredLocale("en-US, *;q=0.5"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), HostRequestHandler::preferredLocale("zh;q=0, en;q=0"));
        CPPUNIT_ASSERT_EQUAL(std::string("zh"), HostRequestHandler::preferredLocale("zh"));
        CPPUNIT_ASSERT_EQUAL(std::string("zh"), HostRequestHandler::preferredLocale("zh-CN,zh;q=0.9,en;q=0.8"));
        CPPUNIT_ASSERT_EQUAL(std::string("zh"), HostRequestHandler::preferredLocale("ZH-Hans"));
        CPPUNIT_ASSERT_EQUAL(std::string("en"), HostRequestHandler::preferredLocale("en-US,zh;q=0.5"));
        CPPUNIT_ASSERT_EQUAL(std::string("zh"), HostRequestHandler::preferredLocale("en;q=0.4, zh-TW;q=0.8"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), HostRequestHandler::preferredLocale("zhx"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), HostRequestHandler::preferredLocale(";;;,q=,"));
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
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(RequestParsingTest, "RequestParsingTest");

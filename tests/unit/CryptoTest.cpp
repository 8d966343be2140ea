#include "identity/sdk/AuditLog.h"
#include "identity/sdk/Crypto.h"

#include <Poco/Exception.h>

#include <chrono>
#include <regex>
#include <set>

#include <cppunit/extensions/HelperMacros.h>

using namespace identity::sdk;

class CryptoTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(CryptoTest);
    CPPUNIT_TEST(testHmacSha256MatchesRfc4231);
    CPPUNIT_TEST(testBase64UrlRoundTripsAndIsStrict);
    CPPUNIT_TEST(testAesGcmRoundTripsAndDetectsTampering);
    CPPUNIT_TEST(testAesGcmIsBoundToItsAssociatedData);
    CPPUNIT_TEST(testConstantTimeEquals);
    CPPUNIT_TEST(testMaskHidesMostOfAddressesAndNumbers);
    CPPUNIT_TEST(testTimeOrderedIdsAreVersion7UuidsThatSortByTime);
    CPPUNIT_TEST_SUITE_END();

public:
    void testTimeOrderedIdsAreVersion7UuidsThatSortByTime()
    {
        const auto millisecondsNow = [] {
            return std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                .count();
        };
        const long long before = millisecondsNow();
        const std::string id = crypto::timeOrderedId();
        const long long after = millisecondsNow();
        CPPUNIT_ASSERT(std::regex_match(id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
        // The first 48 bits are the Unix time in milliseconds.
        const long long stamp = std::stoll(id.substr(0, 8) + id.substr(9, 4), nullptr, 16);
        CPPUNIT_ASSERT(stamp >= before && stamp <= after);

        // Within a millisecond the rest is random; across milliseconds the text sorts by time.
        std::set<std::string> seen;
        std::string previous = crypto::timeOrderedId();
        for (int i = 0; i < 1000; ++i)
            CPPUNIT_ASSERT(seen.insert(crypto::timeOrderedId()).second);
        const long long start = millisecondsNow();
        while (millisecondsNow() == start) // the next millisecond, not a sleep
        {
        }
        const std::string later = crypto::timeOrderedId();
        CPPUNIT_ASSERT(later.substr(0, 13) > previous.substr(0, 13));
        CPPUNIT_ASSERT(later > previous);
    }

    void testHmacSha256MatchesRfc4231()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
                             crypto::toHex(crypto::hmacSha256(std::string(20, '\x0b'), "Hi There")));
        CPPUNIT_ASSERT_EQUAL(std::string("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
                             crypto::toHex(crypto::hmacSha256("Jefe", "what do ya want for nothing?")));
        CPPUNIT_ASSERT_EQUAL(std::string("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
                             crypto::toHex(crypto::hmacSha256(std::string(131, '\xaa'),
                                                              "Test Using Larger Than Block-Size Key - Hash Key First")));
    }

    void testBase64UrlRoundTripsAndIsStrict()
    {
        for (const std::string& input : {std::string(), std::string("f"), std::string("fo"), std::string("foo"),
                                         std::string("\xff\xfe\xfd\x00\x01", 5)})
            CPPUNIT_ASSERT(crypto::base64UrlDecode(crypto::base64UrlEncode(input)) == input);
        CPPUNIT_ASSERT_EQUAL(std::string("_-8"), crypto::base64UrlEncode("\xff\xef"));
        CPPUNIT_ASSERT_THROW(crypto::base64UrlDecode("ab+c"), Poco::DataFormatException);
        CPPUNIT_ASSERT_THROW(crypto::base64UrlDecode("abc="), Poco::DataFormatException);
        CPPUNIT_ASSERT_THROW(crypto::base64UrlDecode("a"), Poco::DataFormatException);
        CPPUNIT_ASSERT_THROW(crypto::base64UrlDecode("_-9"), Poco::DataFormatException); // non-canonical
    }

    void testAesGcmRoundTripsAndDetectsTampering()
    {
        const std::string key(32, 'k');
        const std::string sealed = crypto::aesGcmSeal(key, "123456", "row-1");
        CPPUNIT_ASSERT(sealed.find("123456") == std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("123456"), crypto::aesGcmOpen(key, sealed, "row-1"));
        CPPUNIT_ASSERT(crypto::aesGcmSeal(key, "123456", "row-1") != sealed); // fresh nonce each time
        std::string tampered = sealed;
        tampered[14] ^= 1;
        CPPUNIT_ASSERT_THROW(crypto::aesGcmOpen(key, tampered, "row-1"), Poco::DataException);
        CPPUNIT_ASSERT_THROW(crypto::aesGcmOpen(std::string(32, 'x'), sealed, "row-1"), Poco::DataException);
        CPPUNIT_ASSERT_THROW(crypto::aesGcmSeal("short", "123456", ""), Poco::InvalidArgumentException);
    }

    void testAesGcmIsBoundToItsAssociatedData()
    {
        const std::string key(32, 'k');
        const std::string sealed = crypto::aesGcmSeal(key, "123456", "row-1");
        CPPUNIT_ASSERT_THROW(crypto::aesGcmOpen(key, sealed, "row-2"), Poco::DataException);
    }

    void testConstantTimeEquals()
    {
        CPPUNIT_ASSERT(crypto::constantTimeEquals("abc", "abc"));
        CPPUNIT_ASSERT(!crypto::constantTimeEquals("abc", "abd"));
        CPPUNIT_ASSERT(!crypto::constantTimeEquals("abc", "abcd"));
    }

    void testMaskHidesMostOfAddressesAndNumbers()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("a***@example.com"), AuditLog::mask("alice@example.com"));
        CPPUNIT_ASSERT_EQUAL(std::string("+86*******8000"), AuditLog::mask("+8613800138000"));
        CPPUNIT_ASSERT(AuditLog::mask("+8613800138000").find("13800138") == std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(CryptoTest, "CryptoTest");

// Standard Webhooks signing (standardwebhooks.com), as the webhook notifier does it.
#include "notifiers/WebhookNotifier.h"

#include <Poco/Exception.h>

#include <cppunit/extensions/HelperMacros.h>

using identity::reauth::WebhookNotifier;

class WebhookNotifierTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(WebhookNotifierTest);
    CPPUNIT_TEST(testSignatureIsTheSpecificationsExample);
    CPPUNIT_TEST(testEverySecretSignsDuringRotation);
    CPPUNIT_TEST(testOnlyWhsecSecretsOfTwentyFourToSixtyFourBytesAreKeys);
    CPPUNIT_TEST_SUITE_END();

public:
    void testSignatureIsTheSpecificationsExample()
    {
        // The example of the specification and of its reference libraries.
        const std::string key = WebhookNotifier::key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        CPPUNIT_ASSERT_EQUAL(std::size_t(24), key.size());
        CPPUNIT_ASSERT_EQUAL(std::string("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
                             WebhookNotifier::signature({key}, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
                                                        "{\"test\": 2432232314}"));
    }

    void testEverySecretSignsDuringRotation()
    {
        const std::string current = WebhookNotifier::key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        const std::string previous = WebhookNotifier::key("whsec_" + std::string(43, 'B') + "=");
        const std::string both = WebhookNotifier::signature({current, previous}, "msg_1", "1700000000", "{}");
        const std::string first = WebhookNotifier::signature({current}, "msg_1", "1700000000", "{}");
        const std::string second = WebhookNotifier::signature({previous}, "msg_1", "1700000000", "{}");
        CPPUNIT_ASSERT_EQUAL(first + " " + second, both);
        CPPUNIT_ASSERT(first != second);
    }

    void testOnlyWhsecSecretsOfTwentyFourToSixtyFourBytesAreKeys()
    {
        CPPUNIT_ASSERT_EQUAL(std::size_t(64), WebhookNotifier::key("whsec_" + std::string(86, 'A') + "==").size());
        for (const std::string& bad :
             {std::string(), std::string("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), std::string("whsec_"),
              std::string("whsec_") + std::string(28, 'A'),               // 21 bytes
              std::string("whsec_") + std::string(88, 'A'),               // 66 bytes
              std::string("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa-w"),      // base64url, not base64
              std::string("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")})
            CPPUNIT_ASSERT_THROW_MESSAGE(bad, WebhookNotifier::key(bad), Poco::InvalidArgumentException);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(WebhookNotifierTest, "WebhookNotifierTest");

// The reauthenticate plugin's send limits, on a real SQLite database, without a host.
#include "support/PluginFixture.h"

#include "codes/SendLimits.h"

#include "identity/sdk/ApiError.h"

#include <cppunit/extensions/HelperMacros.h>

using namespace identity;
using identity::reauth::SendAttempt;
using identity::reauth::SendLimits;

namespace
{
reauth::ReauthenticateSettings unlimited()
{
    reauth::ReauthenticateSettings settings;
    settings.cooldownSeconds = settings.perUserPerHour = settings.perIpPerHour = settings.perDestinationPerHour =
        settings.smsPerMinute = 0;
    return settings;
}

/// 0 when the limits let the attempt through, else the Retry-After of the 429.
int retryAfter(test::PluginFixture& fixture, const SendLimits& limits, const SendAttempt& attempt)
{
    std::optional<reauth::LimitHit> hit;
    fixture.storage().read([&](sdk::Transaction& transaction) {
        hit = limits.check(transaction, attempt, fixture.clock().now());
    });
    if (!hit)
        return 0;
    try
    {
        limits.refuse(*hit, attempt);
        CPPUNIT_FAIL("refuse() returned");
    }
    catch (const sdk::ApiError& error)
    {
        CPPUNIT_ASSERT_EQUAL(429, error.status());
        CPPUNIT_ASSERT_EQUAL(4290, error.errorCode());
        return error.retryAfter();
    }
}

void send(test::PluginFixture& fixture, const SendLimits& limits, const SendAttempt& attempt)
{
    fixture.storage().write(
        [&](sdk::Transaction& transaction) { limits.record(transaction, attempt, fixture.clock().now()); });
}
} // namespace

class SendLimitsTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(SendLimitsTest);
    CPPUNIT_TEST(testCooldownRefusesTheNextSendUntilItHasPassed);
    CPPUNIT_TEST(testHourlyLimitPerUserCountsWithinTheWindow);
    CPPUNIT_TEST(testLimitPerDestinationSpansUsers);
    CPPUNIT_TEST(testZeroSwitchesEveryLimitOff);
    CPPUNIT_TEST(testWithEveryLimitOffNothingIsRecordedAndALimitSwitchedOnCountsFromThen);
    CPPUNIT_TEST_SUITE_END();

public:
    void testCooldownRefusesTheNextSendUntilItHasPassed()
    {
        test::PluginFixture fixture;
        auto settings = unlimited();
        settings.cooldownSeconds = 60;
        SendLimits limits(settings, fixture.audit());
        const SendAttempt attempt{"u1", "10.0.0.1", "d1", "email"};
        CPPUNIT_ASSERT_EQUAL(0, retryAfter(fixture, limits, attempt));
        send(fixture, limits, attempt);
        fixture.manualClock().advanceSeconds(10);
        CPPUNIT_ASSERT_EQUAL(50, retryAfter(fixture, limits, attempt));
        fixture.manualClock().advanceSeconds(50);
        CPPUNIT_ASSERT_EQUAL(0, retryAfter(fixture, limits, attempt));
    }

    void testHourlyLimitPerUserCountsWithinTheWindow()
    {
        test::PluginFixture fixture;
        auto settings = unlimited();
        settings.perUserPerHour = 3;
        SendLimits limits(settings, fixture.audit());
        const SendAttempt attempt{"u1", "10.0.0.1", "d1", "sms"};
        for (int i = 0; i < 3; ++i)
        {
            CPPUNIT_ASSERT_EQUAL(0, retryAfter(fixture, limits, attempt));
            send(fixture, limits, attempt);
            fixture.manualClock().advanceSeconds(600);
        }
        // The first send was 1800 s ago: the window has room again 1800 s from now.
        CPPUNIT_ASSERT_EQUAL(1800, retryAfter(fixture, limits, attempt));
        CPPUNIT_ASSERT_EQUAL(0, retryAfter(fixture, limits, SendAttempt{"u2", "10.0.0.1", "d2", "sms"}));
        fixture.manualClock().advanceSeconds(1800);
        CPPUNIT_ASSERT_EQUAL(0, retryAfter(fixture, limits, attempt));
    }

    void testLimitPerDestinationSpansUsers()
    {
        test::PluginFixture fixture;
        auto settings = unlimited();
        settings.perDestinationPerHour = 2;
        SendLimits limits(settings, fixture.audit());
        send(fixture, limits, SendAttempt{"u1", "10.0.0.1", "same", "email"});
        send(fixture, limits, SendAttempt{"u2", "10.0.0.2", "same", "email"});
        CPPUNIT_ASSERT(retryAfter(fixture, limits, SendAttempt{"u3", "10.0.0.3", "same", "email"}) > 0);
        CPPUNIT_ASSERT_EQUAL(0, retryAfter(fixture, limits, SendAttempt{"u3", "10.0.0.3", "other", "email"}));
    }

    void testZeroSwitchesEveryLimitOff()
    {
        test::PluginFixture fixture;
        SendLimits limits(unlimited(), fixture.audit());
        const SendAttempt attempt{"u1", "10.0.0.1", "d1", "sms"};
        for (int i = 0; i < 50; ++i)
            send(fixture, limits, attempt);
        CPPUNIT_ASSERT_EQUAL(0, retryAfter(fixture, limits, attempt));
    }

    void testWithEveryLimitOffNothingIsRecordedAndALimitSwitchedOnCountsFromThen()
    {
        test::PluginFixture fixture;
        const SendAttempt attempt{"u1", "10.0.0.1", "d1", "email"};
        {
            auto settings = unlimited();
            settings.smsPerMinute = 5; // counts SMS only: an email is not recorded for it
            SendLimits off(settings, fixture.audit());
            for (int i = 0; i < 5; ++i)
                send(fixture, off, attempt);
        }
        Poco::Int64 rows = -1;
        fixture.storage().read([&](sdk::Transaction& transaction) {
            rows = transaction.execute("SELECT COUNT(*) FROM send_events").front().integer(0);
        });
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(0), rows);

        // Switched on (a reload builds new limits): the sends before it are not counted, the ones after are.
        auto settings = unlimited();
        settings.perUserPerHour = 2;
        SendLimits on(settings, fixture.audit());
        CPPUNIT_ASSERT_EQUAL(0, retryAfter(fixture, on, attempt));
        send(fixture, on, attempt);
        send(fixture, on, attempt);
        CPPUNIT_ASSERT(retryAfter(fixture, on, attempt) > 0);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(SendLimitsTest, "SendLimitsTest");

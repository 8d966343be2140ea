#include "auth/HashingSlots.h"
#include "auth/SignInThrottle.h"

#include "identity/sdk/ApiError.h"

#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

using namespace identity::host;
using identity::sdk::ApiError;

/// What is admitted to password hashing, and how sign-ins are paced per address.
class AdmissionTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(AdmissionTest);
    CPPUNIT_TEST(testSlotsRunAtMostTheirNumberAndWaitersGetFreedSlots);
    CPPUNIT_TEST(testBeyondTheWaitersOrTheWaitIs503WithRetryAfter);
    CPPUNIT_TEST(testTheThrottleLetsABurstThenPacesIt);
    CPPUNIT_TEST(testTheThrottleKeepsAtMostItsClients);
    CPPUNIT_TEST_SUITE_END();

    static std::string refusal(const std::function<void()>& action)
    {
        try
        {
            action();
            return "admitted";
        }
        catch (const ApiError& error)
        {
            return std::to_string(error.status()) + " " + std::to_string(error.errorCode()) + " retry " +
                   std::to_string(error.retryAfter());
        }
    }

public:
    void testSlotsRunAtMostTheirNumberAndWaitersGetFreedSlots()
    {
        HashingSlots slots(2, 4, std::chrono::seconds(10));
        std::atomic<int> running{0}, most{0};
        std::vector<std::thread> threads;
        for (int i = 0; i < 6; ++i)
            threads.emplace_back([&] {
                const HashingSlots::Slot slot = slots.acquire();
                const int now = ++running;
                for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);)
                {
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(20)); // the hash's work
                --running;
            });
        for (auto& thread : threads)
            thread.join();
        CPPUNIT_ASSERT_EQUAL(2, most.load());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(6), slots.admitted());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), slots.refused());
        CPPUNIT_ASSERT_EQUAL(0, slots.busy());
    }

    void testBeyondTheWaitersOrTheWaitIs503WithRetryAfter()
    {
        HashingSlots slots(1, 1, std::chrono::milliseconds(200));
        std::optional<HashingSlots::Slot> held(slots.acquire());
        // One may wait: it gets the slot once it is freed.
        auto waiter = std::async(std::launch::async,
                                 [&] { return refusal([&] { const HashingSlots::Slot slot = slots.acquire(); }); });
        while (slots.waiting() == 0)
            std::this_thread::yield();
        // A second waiter is one too many: refused at once, while the first still waits.
        CPPUNIT_ASSERT_EQUAL(std::string("503 5030 retry 1"),
                             refusal([&] { const HashingSlots::Slot slot = slots.acquire(); }));
        held.reset();
        CPPUNIT_ASSERT_EQUAL(std::string("admitted"), waiter.get());
        // A wait that runs out is refused the same way.
        held.emplace(slots.acquire());
        CPPUNIT_ASSERT_EQUAL(std::string("503 5030 retry 1"),
                             refusal([&] { const HashingSlots::Slot slot = slots.acquire(); }));
        held.reset();
        CPPUNIT_ASSERT_EQUAL(std::string("admitted"), refusal([&] { const HashingSlots::Slot slot = slots.acquire(); }));
    }

    void testTheThrottleLetsABurstThenPacesIt()
    {
        SignInThrottle throttle(6, 3); // a token every 10 s, three at once
        const auto start = SignInThrottle::Clock::now();
        for (int i = 0; i < 3; ++i)
            CPPUNIT_ASSERT_EQUAL(std::string("admitted"), refusal([&] { throttle.admit("203.0.113.9", start); }));
        CPPUNIT_ASSERT_EQUAL(std::string("429 4290 retry 10"), refusal([&] { throttle.admit("203.0.113.9", start); }));
        CPPUNIT_ASSERT_EQUAL(std::string("admitted"), refusal([&] { throttle.admit("198.51.100.7", start); }));
        // 4 s later, 6 s to go; 10 s later, one more.
        CPPUNIT_ASSERT_EQUAL(std::string("429 4290 retry 6"),
                             refusal([&] { throttle.admit("203.0.113.9", start + std::chrono::seconds(4)); }));
        CPPUNIT_ASSERT_EQUAL(std::string("admitted"),
                             refusal([&] { throttle.admit("203.0.113.9", start + std::chrono::seconds(10)); }));
        CPPUNIT_ASSERT_EQUAL(std::string("429 4290 retry 10"),
                             refusal([&] { throttle.admit("203.0.113.9", start + std::chrono::seconds(10)); }));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), throttle.refused());
        // 0 a minute: no throttle at all.
        SignInThrottle off(0, 1);
        for (int i = 0; i < 100; ++i)
            off.admit("203.0.113.9", start);
    }

    void testTheThrottleKeepsAtMostItsClients()
    {
        SignInThrottle throttle(60, 2, 100);
        const auto start = SignInThrottle::Clock::now();
        for (int i = 0; i < 1000; ++i)
            throttle.admit("client-" + std::to_string(i), start);
        CPPUNIT_ASSERT(throttle.clients() <= 100);
        // Full buckets go first: clients that have not signed in for a while leave the table.
        SignInThrottle quiet(60, 2, 10);
        for (int i = 0; i < 10; ++i)
            quiet.admit("old-" + std::to_string(i), start);
        quiet.admit("new", start + std::chrono::seconds(5)); // every old bucket has refilled by now
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), quiet.clients());
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(AdmissionTest, "AdmissionTest");

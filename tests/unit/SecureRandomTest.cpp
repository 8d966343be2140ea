#include "support/SystemRandom.h"

#include <cppunit/extensions/HelperMacros.h>

#include <deque>
#include <set>

namespace
{
/// Hands out scripted 32-bit values, big-endian, as SecureRandom::uniform reads them.
class ScriptedRandom : public identity::sdk::SecureRandom
{
public:
    explicit ScriptedRandom(std::deque<std::uint32_t> values) : _values(std::move(values)) {}

    void fill(unsigned char* data, std::size_t size) override
    {
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), size);
        const std::uint32_t v = _values.front();
        _values.pop_front();
        data[0] = v >> 24;
        data[1] = v >> 16;
        data[2] = v >> 8;
        data[3] = v;
    }

    std::size_t left() const { return _values.size(); }

private:
    std::deque<std::uint32_t> _values;
};
} // namespace

class SecureRandomTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(SecureRandomTest);
    CPPUNIT_TEST(testUniformRejectsTheBiasedTopOfTheRange);
    CPPUNIT_TEST(testUniformStaysBelowItsBound);
    CPPUNIT_TEST(testSystemRandomFillsEveryByte);
    CPPUNIT_TEST_SUITE_END();

public:
    void testUniformRejectsTheBiasedTopOfTheRange()
    {
        // 2^32 - 1 = 4294967295 lies in the last, partial block of a million: it must be drawn again.
        ScriptedRandom random({4294967295u, 4294000000u, 1234567u});
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(234567), random.uniform(1000000));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), random.left());
    }

    void testUniformStaysBelowItsBound()
    {
        identity::host::SystemRandom random;
        std::set<std::uint32_t> seen;
        for (int i = 0; i < 2000; ++i)
        {
            const std::uint32_t value = random.uniform(10);
            CPPUNIT_ASSERT(value < 10);
            seen.insert(value);
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(10), seen.size());
    }

    void testSystemRandomFillsEveryByte()
    {
        identity::host::SystemRandom random;
        CPPUNIT_ASSERT(random.bytes(32) != random.bytes(32));
        CPPUNIT_ASSERT_EQUAL(std::size_t(4096), random.bytes(4096).size());
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(SecureRandomTest, "SecureRandomTest");

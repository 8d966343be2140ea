#include "auth/PasswordHasher.h"
#include "auth/PasswordPolicy.h"
#include "support/SystemRandom.h"

#include <Poco/Exception.h>

#include <cppunit/extensions/HelperMacros.h>

using namespace identity::host;

class PasswordTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(PasswordTest);
    CPPUNIT_TEST(testHashVerifiesTheRightPasswordOnly);
    CPPUNIT_TEST(testHashesAreSaltedAndCarryTheirCost);
    CPPUNIT_TEST(testFewerThan600000IterationsAreRefused);
    CPPUNIT_TEST(testMalformedHashesNeverVerify);
    CPPUNIT_TEST(testPolicyNeedsLengthAndFourClasses);
    CPPUNIT_TEST_SUITE_END();

public:
    void testHashVerifiesTheRightPasswordOnly()
    {
        SystemRandom random;
        PasswordHasher hasher(PasswordHasher::minimumIterations, random);
        const std::string hash = hasher.hash("Correct-Horse-9");
        CPPUNIT_ASSERT(hasher.verify("Correct-Horse-9", hash));
        CPPUNIT_ASSERT(!hasher.verify("Correct-Horse-8", hash));
        CPPUNIT_ASSERT(hash.find("Correct-Horse-9") == std::string::npos);
    }

    void testHashesAreSaltedAndCarryTheirCost()
    {
        SystemRandom random;
        PasswordHasher hasher(PasswordHasher::minimumIterations, random);
        const std::string first = hasher.hash("Correct-Horse-9");
        CPPUNIT_ASSERT(first != hasher.hash("Correct-Horse-9"));
        CPPUNIT_ASSERT_EQUAL(0, static_cast<int>(first.find("pbkdf2-sha256$600000$")));
    }

    void testFewerThan600000IterationsAreRefused()
    {
        SystemRandom random;
        CPPUNIT_ASSERT_THROW(PasswordHasher(599999, random), Poco::InvalidArgumentException);
    }

    void testMalformedHashesNeverVerify()
    {
        SystemRandom random;
        PasswordHasher hasher(PasswordHasher::minimumIterations, random);
        for (const char* bad : {"", "plain", "pbkdf2-sha256$x$a$b", "pbkdf2-sha256$1$!!$!!", "md5$1$a$b"})
            CPPUNIT_ASSERT(!hasher.verify("anything", bad));
    }

    void testPolicyNeedsLengthAndFourClasses()
    {
        CPPUNIT_ASSERT(PasswordPolicy::accepts("Correct-Horse-9"));
        CPPUNIT_ASSERT(PasswordPolicy::accepts("Aa1!Aa1!"));
        CPPUNIT_ASSERT(!PasswordPolicy::accepts("Aa1!Aa1"));                 // 7 characters
        CPPUNIT_ASSERT(!PasswordPolicy::accepts(std::string(62, 'a') + "A1!")); // 65 characters
        CPPUNIT_ASSERT(PasswordPolicy::accepts(std::string(61, 'a') + "A1!"));  // 64 characters
        CPPUNIT_ASSERT(!PasswordPolicy::accepts("correct-horse-9"));        // no upper case
        CPPUNIT_ASSERT(!PasswordPolicy::accepts("CORRECT-HORSE-9"));        // no lower case
        CPPUNIT_ASSERT(!PasswordPolicy::accepts("Correct-Horse-x"));        // no digit
        CPPUNIT_ASSERT(!PasswordPolicy::accepts("CorrectHorse9"));          // no symbol
        CPPUNIT_ASSERT(!PasswordPolicy::accepts("Correct\nHorse-9"));       // control character
        CPPUNIT_ASSERT(!PasswordPolicy::accepts("Correct-Horse-9\xff"));    // invalid UTF-8
        CPPUNIT_ASSERT(PasswordPolicy::accepts("密码Aa1密码密码"));              // 8 code points, not bytes
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(PasswordTest, "PasswordTest");

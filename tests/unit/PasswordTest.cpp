#include "auth/PasswordHasher.h"
#include "auth/PasswordPolicy.h"
#include "support/SystemRandom.h"

#include <Poco/Exception.h>

#include <sodium.h>

#include <cppunit/extensions/HelperMacros.h>

using namespace identity::host;

class PasswordTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(PasswordTest);
    CPPUNIT_TEST(testHashVerifiesTheRightPasswordOnly);
    CPPUNIT_TEST(testArgon2idHashIsAPhcStringWithItsCost);
    CPPUNIT_TEST(testHashesAreSaltedAndCarryTheirCost);
    CPPUNIT_TEST(testPbkdf2HashesVerifyAndAskForARehash);
    CPPUNIT_TEST(testCheaperArgon2idAsksForARehash);
    CPPUNIT_TEST(testCheaperSettingsAreRefused);
    CPPUNIT_TEST(testMalformedHashesNeverVerify);
    CPPUNIT_TEST(testPolicyNeedsLengthAndFourClasses);
    CPPUNIT_TEST_SUITE_END();

public:
    static PasswordHashing pbkdf2()
    {
        PasswordHashing settings;
        settings.algorithm = "pbkdf2-sha256";
        return settings;
    }

    void testHashVerifiesTheRightPasswordOnly()
    {
        SystemRandom random;
        for (const PasswordHashing& settings : {PasswordHashing(), pbkdf2()})
        {
            PasswordHasher hasher(settings, random);
            const std::string hash = hasher.hash("Correct-Horse-9");
            CPPUNIT_ASSERT(hasher.verify("Correct-Horse-9", hash));
            CPPUNIT_ASSERT(!hasher.verify("Correct-Horse-8", hash));
            CPPUNIT_ASSERT(!hasher.verify("", hash));
            CPPUNIT_ASSERT(hash.find("Correct-Horse-9") == std::string::npos);
            CPPUNIT_ASSERT(!hasher.needsRehash(hash));
        }
    }

    void testArgon2idHashIsAPhcStringWithItsCost()
    {
        SystemRandom random;
        const std::string hash = PasswordHasher(PasswordHashing(), random).hash("Correct-Horse-9");
        // OWASP's first choice: 19 MiB, two passes, one lane; a 16-byte salt and 32-byte hash (base64).
        CPPUNIT_ASSERT_EQUAL(0, static_cast<int>(hash.find("$argon2id$v=19$m=19456,t=2,p=1$")));
        const std::string tail = hash.substr(std::string("$argon2id$v=19$m=19456,t=2,p=1$").size());
        CPPUNIT_ASSERT_EQUAL(std::string::size_type(22), tail.find('$'));
        CPPUNIT_ASSERT_EQUAL(std::string::size_type(22 + 1 + 43), tail.size());
    }

    void testHashesAreSaltedAndCarryTheirCost()
    {
        SystemRandom random;
        PasswordHasher argon2(PasswordHashing(), random);
        CPPUNIT_ASSERT(argon2.hash("Correct-Horse-9") != argon2.hash("Correct-Horse-9"));
        PasswordHasher hasher(pbkdf2(), random);
        const std::string first = hasher.hash("Correct-Horse-9");
        CPPUNIT_ASSERT(first != hasher.hash("Correct-Horse-9"));
        CPPUNIT_ASSERT_EQUAL(0, static_cast<int>(first.find("pbkdf2-sha256$600000$")));
    }

    void testPbkdf2HashesVerifyAndAskForARehash()
    {
        SystemRandom random;
        const std::string legacy = PasswordHasher(pbkdf2(), random).hash("Correct-Horse-9");
        PasswordHasher argon2(PasswordHashing(), random);
        CPPUNIT_ASSERT(argon2.verify("Correct-Horse-9", legacy));
        CPPUNIT_ASSERT(!argon2.verify("Correct-Horse-8", legacy));
        CPPUNIT_ASSERT(argon2.needsRehash(legacy));
        // More rounds configured: the older count asks for a rehash too.
        PasswordHashing more = pbkdf2();
        more.pbkdf2Iterations = 700000;
        CPPUNIT_ASSERT(PasswordHasher(more, random).needsRehash(legacy));
        CPPUNIT_ASSERT(PasswordHasher(more, random).needsRehash(argon2.hash("Correct-Horse-9")));
    }

    void testCheaperArgon2idAsksForARehash()
    {
        SystemRandom random;
        PasswordHashing dearer;
        dearer.argon2TimeCost = 3;
        const std::string cheaper = PasswordHasher(PasswordHashing(), random).hash("Correct-Horse-9");
        PasswordHasher hasher(dearer, random);
        CPPUNIT_ASSERT(hasher.verify("Correct-Horse-9", cheaper));
        CPPUNIT_ASSERT(hasher.needsRehash(cheaper));
        CPPUNIT_ASSERT(!hasher.needsRehash(hasher.hash("Correct-Horse-9")));
    }

    void testCheaperSettingsAreRefused()
    {
        SystemRandom random;
        PasswordHashing settings = pbkdf2();
        settings.pbkdf2Iterations = 599999;
        CPPUNIT_ASSERT_THROW(PasswordHasher(settings, random), Poco::InvalidArgumentException);
        settings = PasswordHashing();
        settings.argon2TimeCost = 1;
        CPPUNIT_ASSERT_THROW(PasswordHasher(settings, random), Poco::InvalidArgumentException);
        settings = PasswordHashing();
        settings.argon2MemoryKib = 19455;
        CPPUNIT_ASSERT_THROW(PasswordHasher(settings, random), Poco::InvalidArgumentException);
        settings = PasswordHashing();
        settings.algorithm = "bcrypt";
        CPPUNIT_ASSERT_THROW(PasswordHasher(settings, random), Poco::InvalidArgumentException);
    }

    void testMalformedHashesNeverVerify()
    {
        SystemRandom random;
        PasswordHasher hasher(PasswordHashing(), random);
        // Argon2i and Argon2d strings are libsodium's too, but not what we store: refused.
        char argon2i[crypto_pwhash_STRBYTES];
        CPPUNIT_ASSERT_EQUAL(0, crypto_pwhash_str_alg(argon2i, "anything", 8, 3, 19456 * 1024,
                                                      crypto_pwhash_ALG_ARGON2I13));
        for (const std::string& bad :
             {std::string(), std::string("plain"), std::string("pbkdf2-sha256$x$a$b"), std::string("pbkdf2-sha256$1$!!$!!"),
              std::string("md5$1$a$b"), std::string("$argon2id$v=19$m=19456,t=2,p=1$!!$!!"),
              std::string("$argon2id$v=19$m=19456,t=2,p=1$"), std::string("$argon2id$"), std::string(argon2i),
              std::string("$argon2id$v=19$m=19456,t=2,p=1$") + std::string(300, 'A'),
              // beyond what may be configured: refused without spending 4 GiB or 100 passes
              std::string("$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$") + std::string(43, 'A'),
              std::string("$argon2id$v=19$m=19456,t=100,p=1$c2FsdHNhbHRzYWx0c2FsdA$") + std::string(43, 'A'),
              std::string("pbkdf2-sha256$2000000000$c2FsdA$c2FsdA")})
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

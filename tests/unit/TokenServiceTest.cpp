#include "auth/TokenService.h"
#include "support/SystemClock.h"
#include "support/SystemRandom.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

#include <Poco/JSON/Object.h>

#include <cppunit/extensions/HelperMacros.h>

#include <sstream>

using namespace identity::host;
using identity::sdk::ApiError;
namespace crypto = identity::sdk::crypto;

namespace
{
const std::string secret = "0123456789abcdef0123456789abcdef-test-secret";

std::string json(const Poco::JSON::Object& object)
{
    std::ostringstream out;
    object.stringify(out);
    return out.str();
}

/// Builds a token by hand, signed with HMAC-SHA256 under `key` whatever the header says.
std::string forge(const Poco::JSON::Object& header, const Poco::JSON::Object& payload, const std::string& key = secret)
{
    const std::string signingInput =
        crypto::base64UrlEncode(json(header)) + "." + crypto::base64UrlEncode(json(payload));
    return signingInput + "." + crypto::base64UrlEncode(crypto::hmacSha256(key, signingInput));
}

Poco::JSON::Object header(const std::string& alg = "HS256", const std::string& typ = "at+jwt")
{
    Poco::JSON::Object object;
    object.set("alg", alg);
    object.set("typ", typ);
    return object;
}

Poco::JSON::Object payload(Poco::Int64 now)
{
    Poco::JSON::Object object;
    object.set("iss", "https://issuer.test");
    object.set("aud", "dev");
    object.set("sub", "user-1");
    object.set("sid", "session-1");
    object.set("iat", now);
    object.set("nbf", now);
    object.set("exp", now + 600);
    return object;
}
} // namespace

class TokenServiceTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(TokenServiceTest);
    CPPUNIT_TEST(testAccessTokenRoundTrips);
    CPPUNIT_TEST(testHandMadeTokenWithAllClaimsVerifies);
    CPPUNIT_TEST(testExpiredTokenIsRejected);
    CPPUNIT_TEST(testNotYetValidTokenIsRejected);
    CPPUNIT_TEST(testAlgNoneInAnyCaseIsRejected);
    CPPUNIT_TEST(testOtherAlgorithmIsRejected);
    CPPUNIT_TEST(testKeyHeadersAreRejected);
    CPPUNIT_TEST(testMissingOrFractionalTimeClaimsAreRejected);
    CPPUNIT_TEST(testWrongIssuerOrAudienceIsRejected);
    CPPUNIT_TEST(testBadSignatureAndOtherSecretAreRejected);
    CPPUNIT_TEST(testFourSegmentsAreRejected);
    CPPUNIT_TEST(testSudoAndAccessTokensDoNotPassForEachOther);
    CPPUNIT_TEST(testGarbageIsRejectedWithoutThrowingAnythingElse);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _clock = std::make_unique<ManualClock>(1800000000000LL);
        TokenSettings settings{"https://issuer.test", "dev", 7200, 900};
        _tokens = std::make_unique<TokenService>(settings, TokenKeys::hmac(secret), *_clock, _random);
    }

    void assertAccessRejected(const std::string& token)
    {
        try
        {
            _tokens->verifyAccessToken(token);
            CPPUNIT_FAIL("token accepted: " + token);
        }
        catch (const ApiError& error)
        {
            CPPUNIT_ASSERT_EQUAL(401, error.status());
            CPPUNIT_ASSERT_EQUAL(4010, error.errorCode());
        }
    }

    void testAccessTokenRoundTrips()
    {
        const std::string token = _tokens->issueAccessToken("user-1", "session-1");
        const TokenClaims claims = _tokens->verifyAccessToken(token);
        CPPUNIT_ASSERT_EQUAL(std::string("user-1"), claims.userId);
        CPPUNIT_ASSERT_EQUAL(std::string("session-1"), claims.sessionId);
        CPPUNIT_ASSERT_EQUAL(_clock->now() + 7200, claims.expiresAt);
    }

    void testHandMadeTokenWithAllClaimsVerifies()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("user-1"),
                             _tokens->verifyAccessToken(forge(header(), payload(_clock->now()))).userId);
    }

    void testExpiredTokenIsRejected()
    {
        const std::string token = _tokens->issueAccessToken("user-1", "session-1");
        _clock->advanceSeconds(7200);
        assertAccessRejected(token);
    }

    void testNotYetValidTokenIsRejected()
    {
        Poco::JSON::Object claims = payload(_clock->now());
        claims.set("nbf", _clock->now() + 60);
        assertAccessRejected(forge(header(), claims));
    }

    void testAlgNoneInAnyCaseIsRejected()
    {
        for (const char* alg : {"none", "None", "NONE", "nOnE"})
        {
            const std::string unsigned_ = crypto::base64UrlEncode(json(header(alg))) + "." +
                                          crypto::base64UrlEncode(json(payload(_clock->now()))) + ".";
            assertAccessRejected(unsigned_);
            assertAccessRejected(forge(header(alg), payload(_clock->now())));
        }
    }

    void testOtherAlgorithmIsRejected()
    {
        for (const char* alg : {"HS512", "HS384", "RS256", "hs256"})
            assertAccessRejected(forge(header(alg), payload(_clock->now())));
    }

    void testKeyHeadersAreRejected()
    {
        for (const char* key : {"kid", "jku", "x5u", "jwk", "crit", "x5c"})
        {
            Poco::JSON::Object h = header();
            h.set(key, "https://attacker.test/key");
            assertAccessRejected(forge(h, payload(_clock->now())));
        }
    }

    void testMissingOrFractionalTimeClaimsAreRejected()
    {
        for (const char* claim : {"exp", "iat", "nbf", "sub", "sid", "iss", "aud"})
        {
            Poco::JSON::Object claims = payload(_clock->now());
            claims.remove(claim);
            assertAccessRejected(forge(header(), claims));
        }
        Poco::JSON::Object fractional = payload(_clock->now());
        fractional.set("exp", static_cast<double>(_clock->now() + 600) + 0.5);
        assertAccessRejected(forge(header(), fractional));
        Poco::JSON::Object text = payload(_clock->now());
        text.set("exp", std::to_string(_clock->now() + 600));
        assertAccessRejected(forge(header(), text));
    }

    void testWrongIssuerOrAudienceIsRejected()
    {
        Poco::JSON::Object claims = payload(_clock->now());
        claims.set("iss", "https://other.test");
        assertAccessRejected(forge(header(), claims));
        claims = payload(_clock->now());
        claims.set("aud", "other");
        assertAccessRejected(forge(header(), claims));
    }

    void testBadSignatureAndOtherSecretAreRejected()
    {
        std::string token = _tokens->issueAccessToken("user-1", "session-1");
        token.back() = token.back() == 'A' ? 'B' : 'A';
        assertAccessRejected(token);
        assertAccessRejected(forge(header(), payload(_clock->now()), "another-secret-another-secret-another"));
    }

    void testFourSegmentsAreRejected()
    {
        assertAccessRejected(_tokens->issueAccessToken("user-1", "session-1") + ".extra");
    }

    void testSudoAndAccessTokensDoNotPassForEachOther()
    {
        assertAccessRejected(_tokens->issueSudoToken("user-1", "session-1"));
        try
        {
            _tokens->verifySudoToken(_tokens->issueAccessToken("user-1", "session-1"));
            CPPUNIT_FAIL("access token accepted as sudo token");
        }
        catch (const ApiError& error)
        {
            CPPUNIT_ASSERT_EQUAL(403, error.status());
            CPPUNIT_ASSERT_EQUAL(4030, error.errorCode());
        }
        CPPUNIT_ASSERT_EQUAL(std::string("user-1"),
                             _tokens->verifySudoToken(_tokens->issueSudoToken("user-1", "session-1")).userId);
    }

    void testGarbageIsRejectedWithoutThrowingAnythingElse()
    {
        for (const std::string& garbage : {std::string(""), std::string("."), std::string(".."), std::string("a.b.c"),
                                           std::string("eyJ.eyJ.sig"), std::string(5000, 'a'),
                                           crypto::base64UrlEncode("[1,2]") + "." + crypto::base64UrlEncode("{}") + ".x",
                                           crypto::base64UrlEncode(json(header())) + ".!!!." })
            assertAccessRejected(garbage);
    }

private:
    SystemRandom _random;
    std::unique_ptr<ManualClock> _clock;
    std::unique_ptr<TokenService> _tokens;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(TokenServiceTest, "TokenServiceTest");

// Asymmetric token signing (RS256, ES256, EdDSA): what verifies, what is refused, rotation, the checks
// at start, and the published key set. Keys are real ones made with OpenSSL (support/TestKeys).
#include "app/HostSettings.h"
#include "auth/TokenKeys.h"
#include "auth/TokenService.h"
#include "support/SystemClock.h"
#include "support/SystemRandom.h"
#include "support/TestKeys.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

#include <Poco/AutoPtr.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Util/MapConfiguration.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>

#include <cppunit/extensions/HelperMacros.h>

#include <set>
#include <sstream>

using namespace identity::host;
using identity::sdk::ApiError;
using identity::test::TestKeys;
namespace crypto = identity::sdk::crypto;

namespace
{
std::string json(const Poco::JSON::Object& object)
{
    std::ostringstream out;
    object.stringify(out);
    return out.str();
}

Poco::JSON::Object::Ptr decodeSegment(const std::string& jwt, int index)
{
    std::size_t start = 0;
    for (int i = 0; i < index; ++i)
        start = jwt.find('.', start) + 1;
    const std::string segment = jwt.substr(start, jwt.find('.', start) - start);
    Poco::JSON::Parser parser;
    return parser.parse(crypto::base64UrlDecode(segment)).extract<Poco::JSON::Object::Ptr>();
}

std::string signatureOf(const std::string& jwt)
{
    return crypto::base64UrlDecode(jwt.substr(jwt.rfind('.') + 1));
}

Poco::JSON::Object header(const std::string& alg, const std::string& kid, const std::string& typ = "at+jwt")
{
    Poco::JSON::Object object;
    object.set("alg", alg);
    object.set("typ", typ);
    if (!kid.empty())
        object.set("kid", kid);
    return object;
}

Poco::JSON::Object payload(Poco::Int64 now)
{
    Poco::JSON::Object object;
    object.set("iss", "https://issuer.test");
    object.set("aud", "dev");
    object.set("sub", "user-1");
    object.set("sid", "session-1");
    object.set("jti", "jti-1");
    object.set("iat", now);
    object.set("nbf", now);
    object.set("exp", now + 600);
    return object;
}

std::string signingInput(const Poco::JSON::Object& h, const Poco::JSON::Object& p)
{
    return crypto::base64UrlEncode(json(h)) + "." + crypto::base64UrlEncode(json(p));
}

/// A token signed with a test key by plain OpenSSL (not by the code under test).
std::string signedWith(const std::string& keyName, const Poco::JSON::Object& h, const Poco::JSON::Object& p,
                       bool ecdsaDer = false)
{
    const std::string input = signingInput(h, p);
    return input + "." + crypto::base64UrlEncode(TestKeys::sign(keyName, input, ecdsaDer));
}

/// A token MACed with HMAC-SHA256 under `key`, whatever the header says.
std::string macedWith(const std::string& key, const Poco::JSON::Object& h, const Poco::JSON::Object& p)
{
    const std::string input = signingInput(h, p);
    return input + "." + crypto::base64UrlEncode(crypto::hmacSha256(key, input));
}

TokenKeySpec privateKey(const std::string& kid, const std::string& algorithm, const std::string& keyName)
{
    return TokenKeySpec{kid, algorithm, TestKeys::privateFile(keyName), ""};
}

TokenKeySpec publicKey(const std::string& kid, const std::string& algorithm, const std::string& keyName)
{
    return TokenKeySpec{kid, algorithm, "", TestKeys::publicFile(keyName)};
}

std::string refusal(const std::string& algorithm, const std::vector<TokenKeySpec>& keys)
{
    try
    {
        TokenKeys::load(algorithm, keys);
    }
    catch (const Poco::InvalidArgumentException& error)
    {
        return error.message();
    }
    return "accepted";
}

struct PkeyFree
{
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

/// The public key a JWK describes, rebuilt with OpenSSL from its members alone.
Pkey keyFromJwk(const Poco::JSON::Object& jwk)
{
    const std::string kty = jwk.getValue<std::string>("kty");
    if (kty == "OKP")
    {
        const std::string x = crypto::base64UrlDecode(jwk.getValue<std::string>("x"));
        return Pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                                reinterpret_cast<const unsigned char*>(x.data()), x.size()));
    }
    std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> build(OSSL_PARAM_BLD_new(),
                                                                          OSSL_PARAM_BLD_free);
    std::vector<std::unique_ptr<BIGNUM, decltype(&BN_free)>> numbers;
    std::string point;
    auto number = [&](const std::string& member)
    {
        const std::string raw = crypto::base64UrlDecode(jwk.getValue<std::string>(member));
        numbers.emplace_back(BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()),
                                       static_cast<int>(raw.size()), nullptr),
                             BN_free);
        return numbers.back().get();
    };
    if (kty == "RSA")
    {
        OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, number("n"));
        OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, number("e"));
    }
    else
    {
        point = "\x04" + crypto::base64UrlDecode(jwk.getValue<std::string>("x")) +
                crypto::base64UrlDecode(jwk.getValue<std::string>("y"));
        OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
        OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    }
    std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(build.get()),
                                                                   OSSL_PARAM_free);
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> context(
        EVP_PKEY_CTX_new_from_name(nullptr, kty == "RSA" ? "RSA" : "EC", nullptr), EVP_PKEY_CTX_free);
    EVP_PKEY* key = nullptr;
    if (!params || !context || EVP_PKEY_fromdata_init(context.get()) != 1 ||
        EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
        return nullptr;
    return Pkey(key);
}

/// Whether `jwt`'s signature verifies under `key`, checked with plain OpenSSL.
bool verifiesUnder(EVP_PKEY* key, const std::string& jwt)
{
    const std::string input = jwt.substr(0, jwt.rfind('.'));
    std::string signature = signatureOf(jwt);
    const bool ec = EVP_PKEY_is_a(key, "EC"), ed = EVP_PKEY_is_a(key, "ED25519");
    if (ec)
    {
        if (signature.size() != 64)
            return false;
        ECDSA_SIG* parsed = ECDSA_SIG_new();
        ECDSA_SIG_set0(parsed,
                       BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), 32, nullptr),
                       BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 32, 32, nullptr));
        unsigned char* der = nullptr;
        const int length = i2d_ECDSA_SIG(parsed, &der);
        signature.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
        OPENSSL_free(der);
        ECDSA_SIG_free(parsed);
    }
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    return EVP_DigestVerifyInit(context.get(), nullptr, ed ? nullptr : EVP_sha256(), nullptr, key) == 1 &&
           EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                            input.size()) == 1;
}

/// The member names, sorted and joined with commas.
std::string membersOf(const Poco::JSON::Object& object)
{
    std::set<std::string> names;
    for (const auto& member : object)
        names.insert(member.first);
    std::string list;
    for (const auto& name : names)
        list += (list.empty() ? "" : ",") + name;
    return list;
}
} // namespace

class TokenSigningTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(TokenSigningTest);
    CPPUNIT_TEST(testEachAlgorithmSignsAndVerifiesWithItsKid);
    CPPUNIT_TEST(testSudoTokensAreSignedTheSameWay);
    CPPUNIT_TEST(testTokensSignedByPlainOpenSslVerify);
    CPPUNIT_TEST(testTamperedSignatureOrPayloadIsRejected);
    CPPUNIT_TEST(testMissingUnknownOrWrongKidIsRejected);
    CPPUNIT_TEST(testKidOfAKeyWithAnotherAlgorithmIsRejected);
    CPPUNIT_TEST(testAlgorithmMustMatchTheKeyInExactCase);
    CPPUNIT_TEST(testHs256KeyedWithThePublicKeyIsRejected);
    CPPUNIT_TEST(testAlgNoneIsRejected);
    CPPUNIT_TEST(testDerEcdsaSignatureIsRejected);
    CPPUNIT_TEST(testEcdsaSignaturesHaveOneSpelling);
    CPPUNIT_TEST(testKeyHeadersBesideKidAreRejected);
    CPPUNIT_TEST(testRotationKeepsOldTokensValidWhileTheOldKeyIsListed);
    CPPUNIT_TEST(testUnusableKeysAreRefusedNamingTheKey);
    CPPUNIT_TEST(testSettingsReadTheKeyList);
    CPPUNIT_TEST(testKeySetHoldsOnlyPublicMembers);
    CPPUNIT_TEST(testPublishedKeysVerifyIssuedTokens);
    CPPUNIT_TEST(testHs256PublishesNoKeys);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { _clock = std::make_unique<ManualClock>(1800000000000LL); }

    std::unique_ptr<TokenService> service(std::shared_ptr<const TokenKeys> keys)
    {
        return std::make_unique<TokenService>(TokenSettings{"https://issuer.test", "dev", 7200, 900},
                                              std::move(keys), *_clock, _random);
    }

    std::unique_ptr<TokenService> service(const std::string& algorithm, const std::vector<TokenKeySpec>& keys)
    {
        return service(TokenKeys::load(algorithm, keys));
    }

    /// RS256 signing with `rsa-1`, ES256 `ec-1` and EdDSA `ed-1` verifying only.
    std::unique_ptr<TokenService> mixed()
    {
        return service("RS256", {privateKey("rsa-1", "RS256", "rsa"), publicKey("ec-1", "ES256", "ec"),
                                 publicKey("ed-1", "EdDSA", "ed25519")});
    }

    static void assertRejected(const TokenService& tokens, const std::string& token, const std::string& why)
    {
        try
        {
            tokens.verifyAccessToken(token);
            CPPUNIT_FAIL("accepted: " + why);
        }
        catch (const ApiError& error)
        {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(why, 401, error.status());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(why, 4010, error.errorCode());
        }
    }

    void testEachAlgorithmSignsAndVerifiesWithItsKid()
    {
        for (const auto& [algorithm, keyName, signatureBytes] :
             {std::make_tuple("RS256", "rsa", 256), std::make_tuple("ES256", "ec", 64),
              std::make_tuple("EdDSA", "ed25519", 64)})
        {
            auto tokens = service(algorithm, {privateKey("k-" + std::string(keyName), algorithm, keyName)});
            const std::string token = tokens->issueAccessToken("user-1", "session-1");
            const auto h = decodeSegment(token, 0);
            CPPUNIT_ASSERT_EQUAL(std::string(algorithm), h->getValue<std::string>("alg"));
            CPPUNIT_ASSERT_EQUAL("k-" + std::string(keyName), h->getValue<std::string>("kid"));
            CPPUNIT_ASSERT_EQUAL(std::string("at+jwt"), h->getValue<std::string>("typ"));
            CPPUNIT_ASSERT_EQUAL(std::size_t(3), h->size());
            CPPUNIT_ASSERT_EQUAL(std::size_t(signatureBytes), signatureOf(token).size());
            const TokenClaims claims = tokens->verifyAccessToken(token);
            CPPUNIT_ASSERT_EQUAL(std::string("user-1"), claims.userId);
            CPPUNIT_ASSERT_EQUAL(std::string("session-1"), claims.sessionId);
            CPPUNIT_ASSERT_EQUAL(_clock->now() + 7200, claims.expiresAt);
        }
    }

    void testSudoTokensAreSignedTheSameWay()
    {
        auto tokens = service("ES256", {privateKey("ec-1", "ES256", "ec")});
        const std::string sudo = tokens->issueSudoToken("user-1", "session-1");
        CPPUNIT_ASSERT_EQUAL(std::string("sudo+jwt"), decodeSegment(sudo, 0)->getValue<std::string>("typ"));
        CPPUNIT_ASSERT_EQUAL(std::string("ec-1"), decodeSegment(sudo, 0)->getValue<std::string>("kid"));
        CPPUNIT_ASSERT_EQUAL(std::string("user-1"), tokens->verifySudoToken(sudo).userId);
        assertRejected(*tokens, sudo, "a sudo token as an access token");
    }

    void testTokensSignedByPlainOpenSslVerify()
    {
        auto tokens = mixed();
        const Poco::JSON::Object claims = payload(_clock->now());
        CPPUNIT_ASSERT_EQUAL(
            std::string("user-1"),
            tokens->verifyAccessToken(signedWith("rsa", header("RS256", "rsa-1"), claims)).userId);
        CPPUNIT_ASSERT_EQUAL(
            std::string("user-1"),
            tokens->verifyAccessToken(signedWith("ec", header("ES256", "ec-1"), claims)).userId);
        CPPUNIT_ASSERT_EQUAL(
            std::string("user-1"),
            tokens->verifyAccessToken(signedWith("ed25519", header("EdDSA", "ed-1"), claims)).userId);
    }

    void testTamperedSignatureOrPayloadIsRejected()
    {
        for (const auto& [algorithm, keyName] :
             {std::make_pair("RS256", "rsa"), std::make_pair("ES256", "ec"),
              std::make_pair("EdDSA", "ed25519")})
        {
            auto tokens = service(algorithm, {privateKey("k", algorithm, keyName)});
            const std::string token = tokens->issueAccessToken("user-1", "session-1");
            const std::size_t dot = token.rfind('.');
            std::string signature = signatureOf(token);
            signature[signature.size() / 2] ^= 0x01;
            assertRejected(*tokens, token.substr(0, dot + 1) + crypto::base64UrlEncode(signature),
                           std::string(algorithm) + " with one bit of the signature flipped");
            assertRejected(*tokens, token.substr(0, dot + 1),
                           std::string(algorithm) + " without its signature");
            Poco::JSON::Object other = payload(_clock->now());
            other.set("sub", "user-2");
            const std::string headerPart = token.substr(0, token.find('.'));
            assertRejected(*tokens,
                           headerPart + "." + crypto::base64UrlEncode(json(other)) + token.substr(dot),
                           std::string(algorithm) + " with another payload under the signature");
        }
    }

    void testMissingUnknownOrWrongKidIsRejected()
    {
        auto tokens =
            service("RS256", {privateKey("rsa-1", "RS256", "rsa"), publicKey("rsa-2", "RS256", "rsa-b")});
        const Poco::JSON::Object claims = payload(_clock->now());
        assertRejected(*tokens, signedWith("rsa", header("RS256", ""), claims), "no kid");
        assertRejected(*tokens, signedWith("rsa", header("RS256", "rsa-3"), claims), "an unknown kid");
        assertRejected(*tokens, signedWith("rsa", header("RS256", "RSA-1"), claims), "a kid in another case");
        assertRejected(*tokens, signedWith("rsa", header("RS256", "rsa-2"), claims),
                       "the kid of another RSA key");
        Poco::JSON::Object numeric = header("RS256", "");
        numeric.set("kid", 1);
        assertRejected(*tokens, signedWith("rsa", numeric, claims), "a kid that is no string");
        // The control: the right kid.
        CPPUNIT_ASSERT_EQUAL(
            std::string("user-1"),
            tokens->verifyAccessToken(signedWith("rsa-b", header("RS256", "rsa-2"), claims)).userId);
    }

    void testKidOfAKeyWithAnotherAlgorithmIsRejected()
    {
        auto tokens = mixed();
        const Poco::JSON::Object claims = payload(_clock->now());
        // Each signed by the key its alg wants, but naming the kid of a key of another algorithm.
        assertRejected(*tokens, signedWith("ec", header("ES256", "rsa-1"), claims),
                       "ES256 under an RS256 kid");
        assertRejected(*tokens, signedWith("rsa", header("RS256", "ec-1"), claims),
                       "RS256 under an ES256 kid");
        assertRejected(*tokens, signedWith("ed25519", header("EdDSA", "ec-1"), claims),
                       "EdDSA under an ES256 kid");
        // Signed by the key the kid names, under another alg.
        assertRejected(*tokens, signedWith("ec", header("RS256", "ec-1"), claims),
                       "an EC signature called RS256");
        assertRejected(*tokens, signedWith("ed25519", header("ES256", "ed-1"), claims),
                       "an Ed25519 signature called ES256");
    }

    void testAlgorithmMustMatchTheKeyInExactCase()
    {
        auto tokens = mixed();
        const Poco::JSON::Object claims = payload(_clock->now());
        for (const char* alg : {"rs256", "Rs256", "RS512", "PS256"})
            assertRejected(*tokens, signedWith("rsa", header(alg, "rsa-1"), claims),
                           std::string("alg ") + alg);
        for (const char* alg : {"es256", "ES384"})
            assertRejected(*tokens, signedWith("ec", header(alg, "ec-1"), claims), std::string("alg ") + alg);
        for (const char* alg : {"EDDSA", "eddsa", "Ed25519"})
            assertRejected(*tokens, signedWith("ed25519", header(alg, "ed-1"), claims),
                           std::string("alg ") + alg);
    }

    void testHs256KeyedWithThePublicKeyIsRejected()
    {
        // The key-confusion attack: the public key is public, so an HMAC under it is anyone's to make.
        auto tokens = service("RS256", {privateKey("rsa-1", "RS256", "rsa")});
        const Poco::JSON::Object claims = payload(_clock->now());
        const std::string pem = TestKeys::publicPem("rsa");
        for (const std::string& key : {pem, pem.substr(0, pem.size() - 1)})
        {
            assertRejected(*tokens, macedWith(key, header("HS256", "rsa-1"), claims),
                           "HS256 under the RSA key's kid");
            assertRejected(*tokens, macedWith(key, header("HS256", ""), claims), "HS256 without kid");
        }
        auto ec = service("ES256", {privateKey("ec-1", "ES256", "ec")});
        assertRejected(*ec, macedWith(TestKeys::publicPem("ec"), header("HS256", "ec-1"), claims),
                       "HS256 under the EC key's kid");
    }

    void testAlgNoneIsRejected()
    {
        auto tokens = mixed();
        const Poco::JSON::Object claims = payload(_clock->now());
        for (const char* alg : {"none", "None", "NONE"})
        {
            assertRejected(*tokens, signingInput(header(alg, "rsa-1"), claims) + ".",
                           std::string("alg ") + alg);
            assertRejected(*tokens, signingInput(header(alg, ""), claims) + ".",
                           std::string("alg ") + alg + " without kid");
            assertRejected(*tokens, signedWith("rsa", header(alg, "rsa-1"), claims),
                           std::string("signed alg ") + alg);
        }
    }

    void testDerEcdsaSignatureIsRejected()
    {
        auto tokens = service("ES256", {privateKey("ec-1", "ES256", "ec")});
        const Poco::JSON::Object claims = payload(_clock->now());
        const std::string der = signedWith("ec", header("ES256", "ec-1"), claims, true);
        CPPUNIT_ASSERT(signatureOf(der).size() > 64); // DER: a SEQUENCE of two INTEGERs
        assertRejected(*tokens, der, "an ES256 signature in DER form");
        CPPUNIT_ASSERT_EQUAL(
            std::string("user-1"),
            tokens->verifyAccessToken(signedWith("ec", header("ES256", "ec-1"), claims)).userId);
    }

    void testEcdsaSignaturesHaveOneSpelling()
    {
        // (R, S) and (R, n - S) both verify as ECDSA: a token would have two spellings, and whatever
        // is keyed on a token's text (a deny list, a cache) could be passed by the other one.
        auto tokens = service("ES256", {privateKey("ec-1", "ES256", "ec")});
        Pkey published = keyFromJwk(*tokens->keys()->jwks()->getArray("keys")->getObject(0));
        for (int i = 0; i < 32; ++i)
        {
            const std::string token = tokens->issueAccessToken("user-1", "session-" + std::to_string(i));
            const std::string signature = signatureOf(token);
            CPPUNIT_ASSERT_MESSAGE("an ES256 signature with S above n/2 was written", !TestKeys::ecdsaHighS(signature));
            const std::string other =
                token.substr(0, token.rfind('.') + 1) + crypto::base64UrlEncode(TestKeys::otherEcdsaSpelling(signature));
            CPPUNIT_ASSERT_MESSAGE("the other spelling is a valid ECDSA signature", verifiesUnder(published.get(), other));
            assertRejected(*tokens, other, "an ES256 signature with S above n/2");
            CPPUNIT_ASSERT_EQUAL(std::string("user-1"), tokens->verifyAccessToken(token).userId);
        }
    }

    void testKeyHeadersBesideKidAreRejected()
    {
        auto tokens = mixed();
        const Poco::JSON::Object claims = payload(_clock->now());
        for (const char* member : {"jku", "x5u", "jwk", "x5c", "crit", "cty"})
        {
            Poco::JSON::Object h = header("RS256", "rsa-1");
            h.set(member, "https://attacker.test/key");
            assertRejected(*tokens, signedWith("rsa", h, claims), std::string("a header with ") + member);
        }
    }

    void testRotationKeepsOldTokensValidWhileTheOldKeyIsListed()
    {
        auto tokens = service("RS256", {privateKey("old", "RS256", "rsa")});
        const std::string before = tokens->issueAccessToken("user-1", "session-1");
        const std::string sudoBefore = tokens->issueSudoToken("user-1", "session-1");

        // The new key first (it signs), the old one's public key second (it still verifies).
        tokens->useKeys(TokenKeys::load(
            "RS256", {privateKey("new", "RS256", "rsa-b"), publicKey("old", "RS256", "rsa")}));
        CPPUNIT_ASSERT_EQUAL(std::string("user-1"), tokens->verifyAccessToken(before).userId);
        CPPUNIT_ASSERT_EQUAL(std::string("user-1"), tokens->verifySudoToken(sudoBefore).userId);
        const std::string after = tokens->issueAccessToken("user-1", "session-1");
        CPPUNIT_ASSERT_EQUAL(std::string("new"), decodeSegment(after, 0)->getValue<std::string>("kid"));
        CPPUNIT_ASSERT_EQUAL(std::string("user-1"), tokens->verifyAccessToken(after).userId);

        // Another algorithm rotates in the same way.
        tokens->useKeys(TokenKeys::load(
            "EdDSA", {privateKey("ed", "EdDSA", "ed25519"), publicKey("new", "RS256", "rsa-b")}));
        CPPUNIT_ASSERT_EQUAL(std::string("user-1"), tokens->verifyAccessToken(after).userId);
        CPPUNIT_ASSERT_EQUAL(
            std::string("ed"),
            decodeSegment(tokens->issueAccessToken("user-1", "session-1"), 0)->getValue<std::string>("kid"));

        // Once the old key is no longer listed, its tokens stop verifying.
        tokens->useKeys(TokenKeys::load("RS256", {privateKey("new", "RS256", "rsa-b")}));
        assertRejected(*tokens, before, "a token of a key no longer listed");
        CPPUNIT_ASSERT_EQUAL(std::string("user-1"), tokens->verifyAccessToken(after).userId);
    }

    void testUnusableKeysAreRefusedNamingTheKey()
    {
        const auto expect = [](const std::string& fragment, const std::string& algorithm,
                               const std::vector<TokenKeySpec>& keys)
        {
            const std::string message = refusal(algorithm, keys);
            CPPUNIT_ASSERT_MESSAGE(message + " (wanted: " + fragment + ")",
                                   message.find(fragment) != std::string::npos);
            // Never what a key file holds.
            for (const char* name : {"rsa", "ec", "ed25519"})
            {
                const std::string pem = TestKeys::publicPem(name);
                const std::string body = pem.substr(pem.find('\n') + 1, 40);
                CPPUNIT_ASSERT_MESSAGE(message, message.find(body) == std::string::npos);
            }
            CPPUNIT_ASSERT_MESSAGE(message, message.find("-----BEGIN") == std::string::npos);
        };
        const std::string missing = TestKeys::file("gone.pem", "") + ".absent";
        expect("tokens.keys[0] (kid 'a'): cannot read " + missing + " (File not found)", "RS256",
               {TokenKeySpec{"a", "RS256", missing, ""}});
        expect("tokens.keys[0] (kid 'a'): " + TestKeys::file("garbage.pem", "not a key\n") +
                   " holds no PEM private key",
               "RS256", {TokenKeySpec{"a", "RS256", TestKeys::file("garbage.pem", "not a key\n"), ""}});
        expect("holds no PEM private key", "RS256",
               {TokenKeySpec{"a", "RS256", TestKeys::publicFile("rsa"), ""}});
        expect("holds no PEM private key (or an encrypted one", "RS256",
               {TokenKeySpec{"a", "RS256", TestKeys::encryptedPrivateFile("rsa"), ""}});
        expect(
            "tokens.keys[1] (kid 'b'): " + TestKeys::privateFile("rsa") + " holds no PEM public key", "RS256",
            {privateKey("a", "RS256", "rsa"), TokenKeySpec{"b", "RS256", "", TestKeys::privateFile("rsa")}});
        expect("tokens.keys[0] (kid 'small'): RS256 needs an RSA key of at least 2048 bits; " +
                   TestKeys::privateFile("rsa-1024") + " holds one of 1024",
               "RS256", {privateKey("small", "RS256", "rsa-1024")});
        expect("(kid 'p384'): ES256 needs an EC key on P-256; " + TestKeys::privateFile("ec-384") +
                   " holds one on secp384r1",
               "ES256", {privateKey("p384", "ES256", "ec-384")});
        expect("(kid 'r'): EdDSA needs an Ed25519 key; " + TestKeys::privateFile("rsa") + " holds an RSA key",
               "EdDSA", {privateKey("r", "EdDSA", "rsa")});
        expect("(kid 'x448'): EdDSA needs an Ed25519 key; " + TestKeys::privateFile("ed448") +
                   " holds an ED448 key",
               "EdDSA", {privateKey("x448", "EdDSA", "ed448")});
        expect("(kid 'e'): RS256 needs an RSA key; " + TestKeys::publicFile("ec") + " holds an EC key",
               "RS256", {privateKey("a", "RS256", "rsa"), publicKey("e", "RS256", "ec")});
        expect("(kid 'r'): ES256 needs an EC key on P-256; " + TestKeys::publicFile("rsa") +
                   " holds an RSA key",
               "RS256", {privateKey("a", "RS256", "rsa"), publicKey("r", "ES256", "rsa")});
        expect("tokens.keys[1] (kid 'a'): another key has this kid", "RS256",
               {privateKey("a", "RS256", "rsa"), publicKey("a", "RS256", "rsa-b")});
        expect("tokens.keys[0] (kid 'a'): algorithm must be RS256, ES256 or EdDSA", "RS256",
               {privateKey("a", "HS256", "rsa")});
        expect("tokens.keys[0] (kid 'a'): algorithm must be RS256, ES256 or EdDSA", "RS256",
               {privateKey("a", "rs256", "rsa")});
        expect("tokens.keys[0]: kid must be", "RS256", {privateKey("", "RS256", "rsa")});
        expect("tokens.keys[0]: kid must be", "RS256", {privateKey("a b", "RS256", "rsa")});
        expect("needs exactly one of private_key_file and public_key_file", "RS256",
               {TokenKeySpec{"a", "RS256", TestKeys::privateFile("rsa"), TestKeys::publicFile("rsa")}});
        expect("needs exactly one of private_key_file and public_key_file", "RS256",
               {TokenKeySpec{"a", "RS256", "", ""}});
        expect("tokens.keys: no key has a private_key_file", "RS256", {publicKey("a", "RS256", "rsa")});
        expect("tokens.keys: RS256 needs at least one key", "RS256", {});
        expect("tokens.keys[1] (kid 'b'): it signs (the first key with a private_key_file) but is ES256, and "
               "tokens.algorithm is RS256",
               "RS256", {publicKey("a", "RS256", "rsa"), privateKey("b", "ES256", "ec")});
        expect("tokens.algorithm must be HS256, RS256, ES256 or EdDSA", "ES512",
               {privateKey("a", "ES256", "ec")});
        CPPUNIT_ASSERT_EQUAL(std::string("accepted"), refusal("RS256", {publicKey("a", "ES256", "ec"),
                                                                        privateKey("b", "RS256", "rsa")}));
    }

    void testSettingsReadTheKeyList()
    {
        Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
        config->setString("tokens.algorithm", "ES256");
        config->setString("tokens.keys[0].kid", "new");
        config->setString("tokens.keys[0].algorithm", "ES256");
        config->setString("tokens.keys[0].private_key_file", "keys/new.pem");
        config->setString("tokens.keys[1].kid", "old");
        config->setString("tokens.keys[1].algorithm", "RS256");
        config->setString("tokens.keys[1].public_key_file", "keys/old.pub.pem");
        const TokenSigningSettings signing = TokenSigningSettings::read(*config);
        CPPUNIT_ASSERT_EQUAL(std::string("ES256"), signing.algorithm);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), signing.keys.size());
        CPPUNIT_ASSERT_EQUAL(std::string("new"), signing.keys[0].kid);
        CPPUNIT_ASSERT_EQUAL(std::string("keys/new.pem"), signing.keys[0].privateKeyFile);
        CPPUNIT_ASSERT_EQUAL(std::string("RS256"), signing.keys[1].algorithm);
        CPPUNIT_ASSERT_EQUAL(std::string("keys/old.pub.pem"), signing.keys[1].publicKeyFile);
        CPPUNIT_ASSERT(signing.keys[1].privateKeyFile.empty());

        Poco::AutoPtr<Poco::Util::MapConfiguration> defaults(new Poco::Util::MapConfiguration);
        CPPUNIT_ASSERT_EQUAL(std::string("HS256"), TokenSigningSettings::read(*defaults).algorithm);
        CPPUNIT_ASSERT(TokenSigningSettings::read(*defaults).keys.empty());

        config->setString("tokens.algorithm", "HS256");
        CPPUNIT_ASSERT_THROW_MESSAGE("keys listed under HS256", TokenSigningSettings::read(*config),
                                     Poco::InvalidArgumentException);
        config->setString("tokens.algorithm", "ES384");
        CPPUNIT_ASSERT_THROW_MESSAGE("an algorithm Poco signs badly", TokenSigningSettings::read(*config),
                                     Poco::InvalidArgumentException);
    }

    void testKeySetHoldsOnlyPublicMembers()
    {
        const auto keys =
            TokenKeys::load("RS256", {privateKey("rsa-1", "RS256", "rsa"), privateKey("ec-1", "ES256", "ec"),
                                      privateKey("ed-1", "EdDSA", "ed25519")});
        const Poco::JSON::Object::Ptr set = keys->jwks();
        CPPUNIT_ASSERT_EQUAL(std::string("keys"), membersOf(*set));
        const Poco::JSON::Array::Ptr list = set->getArray("keys");
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), list->size());
        const Poco::JSON::Object::Ptr rsa = list->getObject(0), ec = list->getObject(1),
                                      ed = list->getObject(2);
        CPPUNIT_ASSERT_EQUAL(std::string("alg,e,kid,kty,n,use"), membersOf(*rsa));
        CPPUNIT_ASSERT_EQUAL(std::string("alg,crv,kid,kty,use,x,y"), membersOf(*ec));
        CPPUNIT_ASSERT_EQUAL(std::string("alg,crv,kid,kty,use,x"), membersOf(*ed));
        CPPUNIT_ASSERT_EQUAL(std::string("RSA"), rsa->getValue<std::string>("kty"));
        CPPUNIT_ASSERT_EQUAL(std::string("RS256"), rsa->getValue<std::string>("alg"));
        CPPUNIT_ASSERT_EQUAL(std::string("rsa-1"), rsa->getValue<std::string>("kid"));
        CPPUNIT_ASSERT_EQUAL(std::string("sig"), rsa->getValue<std::string>("use"));
        CPPUNIT_ASSERT_EQUAL(std::string("AQAB"), rsa->getValue<std::string>("e"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(256),
                             crypto::base64UrlDecode(rsa->getValue<std::string>("n")).size());
        CPPUNIT_ASSERT_EQUAL(std::string("EC"), ec->getValue<std::string>("kty"));
        CPPUNIT_ASSERT_EQUAL(std::string("P-256"), ec->getValue<std::string>("crv"));
        CPPUNIT_ASSERT_EQUAL(std::string("ES256"), ec->getValue<std::string>("alg"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(32), crypto::base64UrlDecode(ec->getValue<std::string>("x")).size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(32), crypto::base64UrlDecode(ec->getValue<std::string>("y")).size());
        CPPUNIT_ASSERT_EQUAL(std::string("OKP"), ed->getValue<std::string>("kty"));
        CPPUNIT_ASSERT_EQUAL(std::string("Ed25519"), ed->getValue<std::string>("crv"));
        CPPUNIT_ASSERT_EQUAL(std::string("EdDSA"), ed->getValue<std::string>("alg"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(32), crypto::base64UrlDecode(ed->getValue<std::string>("x")).size());
        // Not a trace of a private key, also not in the text.
        std::ostringstream text;
        set->stringify(text);
        for (const char* member : {"\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\"", "\"k\""})
            CPPUNIT_ASSERT_MESSAGE(member, text.str().find(member) == std::string::npos);
    }

    void testPublishedKeysVerifyIssuedTokens()
    {
        for (const auto& [algorithm, keyName] :
             {std::make_pair("RS256", "rsa"), std::make_pair("ES256", "ec"),
              std::make_pair("EdDSA", "ed25519")})
        {
            auto tokens = service(algorithm, {privateKey("k", algorithm, keyName)});
            const Poco::JSON::Object::Ptr jwk = tokens->keys()->jwks()->getArray("keys")->getObject(0);
            Pkey published = keyFromJwk(*jwk);
            CPPUNIT_ASSERT_MESSAGE(algorithm, published != nullptr);
            CPPUNIT_ASSERT_MESSAGE(algorithm, EVP_PKEY_eq(published.get(), TestKeys::key(keyName)) == 1);
            CPPUNIT_ASSERT_MESSAGE(
                algorithm, verifiesUnder(published.get(), tokens->issueAccessToken("user-1", "session-1")));
        }
    }

    void testHs256PublishesNoKeys()
    {
        const Poco::JSON::Object::Ptr set = TokenKeys::hmac(std::string(32, 's'))->jwks();
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), set->getArray("keys")->size());
    }

private:
    SystemRandom _random;
    std::unique_ptr<ManualClock> _clock;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(TokenSigningTest, "TokenSigningTest");

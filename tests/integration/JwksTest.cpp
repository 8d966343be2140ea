// The published key set (GET /auth/v1/.well-known/jwks.json) and key rotation by configuration
// reload, on a real host signing with key files.
#include "support/TestKeys.h"
#include "support/TestServer.h"

#include "identity/sdk/Crypto.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>

using namespace identity;
using namespace identity::test;

namespace
{
const std::string jwksPath = "/auth/v1/.well-known/jwks.json";

/// `tokens.keys` as configuration entries: {kid, algorithm, test key name, private?}.
struct Key
{
    std::string kid, algorithm, keyName;
    bool canSign;
};

Overrides keyList(const std::string& algorithm, const std::vector<Key>& keys)
{
    Overrides values{{"tokens.algorithm", algorithm}};
    for (std::size_t i = 0; i < keys.size(); ++i)
    {
        const std::string prefix = "tokens.keys[" + std::to_string(i) + "].";
        values[prefix + "kid"] = keys[i].kid;
        values[prefix + "algorithm"] = keys[i].algorithm;
        if (keys[i].canSign)
            values[prefix + "private_key_file"] = TestKeys::privateFile(keys[i].keyName);
        else
            values[prefix + "public_key_file"] = TestKeys::publicFile(keys[i].keyName);
    }
    return values;
}

/// The running configuration with its token keys replaced.
Poco::AutoPtr<Poco::Util::MapConfiguration> withKeys(TestServer& server, const Overrides& keys)
{
    Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
    for (const auto& entry : server.settings())
        if (entry.first.rfind("tokens.keys", 0) != 0)
            config->setString(entry.first, entry.second);
    for (const auto& entry : keys)
        config->setString(entry.first, entry.second);
    return config;
}

std::string kidOf(const std::string& jwt)
{
    Poco::JSON::Parser parser;
    const auto header = parser.parse(sdk::crypto::base64UrlDecode(jwt.substr(0, jwt.find('.'))))
                            .extract<Poco::JSON::Object::Ptr>();
    return header->has("kid") ? header->getValue<std::string>("kid") : std::string();
}

/// The kids of the published key set, in order, joined with commas.
std::string publishedKids(TestServer& server)
{
    const HttpResult result = server.request("GET", jwksPath);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(result.body, 200, result.status);
    std::string kids;
    const Poco::JSON::Array::Ptr keys = result.json->getArray("keys");
    for (std::size_t i = 0; i < keys->size(); ++i)
        kids += (kids.empty() ? "" : ",") + keys->getObject(i)->getValue<std::string>("kid");
    return kids;
}

int meStatus(TestServer& server, const std::string& token)
{
    return server.request("GET", "/auth/v1/user/me", "", {{"Authorization", "Bearer " + token}}).status;
}
} // namespace

class JwksTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(JwksTest);
    CPPUNIT_TEST(testKeySetIsPublishedAsCacheablePublicKeys);
    CPPUNIT_TEST(testHs256PublishesAnEmptyKeySet);
    CPPUNIT_TEST(testSignedInUnderEachAlgorithmTheTokenWorks);
    CPPUNIT_TEST(testReloadRotatesTheSigningKey);
    CPPUNIT_TEST(testReloadWithAnUnusableKeyChangesNothing);
    CPPUNIT_TEST(testStartWithAnUnusableKeyFails);
    CPPUNIT_TEST_SUITE_END();

public:
    void testKeySetIsPublishedAsCacheablePublicKeys()
    {
        TestServer server(
            keyList("RS256", {{"rsa-1", "RS256", "rsa", true}, {"ec-1", "ES256", "ec", false}}));
        const HttpResult result = server.request("GET", jwksPath);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(result.body, 200, result.status);
        CPPUNIT_ASSERT_EQUAL(std::string("public, max-age=300"), result.headers.get("Cache-Control", ""));
        CPPUNIT_ASSERT(!result.headers.has("Pragma"));
        CPPUNIT_ASSERT_EQUAL(std::string("nosniff"), result.headers.get("X-Content-Type-Options", ""));
        CPPUNIT_ASSERT_EQUAL(std::string("rsa-1,ec-1"), publishedKids(server));
        for (const char* member : {"\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\""})
            CPPUNIT_ASSERT_MESSAGE(member, result.body.find(member) == std::string::npos);

        // Its errors are auth responses like any other: not to be stored.
        const HttpResult wrongMethod = server.request("POST", jwksPath, "{}");
        CPPUNIT_ASSERT_EQUAL(405, wrongMethod.status);
        CPPUNIT_ASSERT_EQUAL(std::string("no-store"), wrongMethod.headers.get("Cache-Control", ""));
        CPPUNIT_ASSERT_EQUAL(std::string("no-cache"), wrongMethod.headers.get("Pragma", ""));
        // And the other auth responses keep theirs.
        const HttpResult signIn =
            server.post("/auth/v1/signin", "{\"username\":\"nobody\",\"password\":\"x\"}");
        CPPUNIT_ASSERT_EQUAL(std::string("no-store"), signIn.headers.get("Cache-Control", ""));
    }

    void testHs256PublishesAnEmptyKeySet()
    {
        TestServer server;
        const HttpResult result = server.request("GET", jwksPath);
        CPPUNIT_ASSERT_EQUAL(200, result.status);
        CPPUNIT_ASSERT_EQUAL(std::string("{\"keys\":[]}"), result.body);
    }

    void testSignedInUnderEachAlgorithmTheTokenWorks()
    {
        for (const auto& [algorithm, keyName] :
             {std::make_pair("RS256", "rsa"), std::make_pair("ES256", "ec"),
              std::make_pair("EdDSA", "ed25519")})
        {
            TestServer server(keyList(algorithm, {{"k-" + std::string(keyName), algorithm, keyName, true}}));
            server.createUser("ada", "ada@example.com", "");
            const std::string token = server.signIn("ada");
            CPPUNIT_ASSERT_EQUAL("k-" + std::string(keyName), kidOf(token));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(algorithm, 200, meStatus(server, token));
            const HttpResult sudo =
                server.post("/auth/v1/user/sudo", "{\"password\":\"Correct-Horse-9\"}", token);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(sudo.body, 200, sudo.status);
            recordSecret(sudo.string("sudo_token"));
            CPPUNIT_ASSERT_EQUAL("k-" + std::string(keyName), kidOf(sudo.string("sudo_token")));
        }
    }

    void testReloadRotatesTheSigningKey()
    {
        TestServer server(keyList("RS256", {{"old", "RS256", "rsa", true}}));
        server.createUser("ada", "ada@example.com", "");
        const std::string before = server.signIn("ada");
        CPPUNIT_ASSERT_EQUAL(std::string("old"), kidOf(before));

        // The new key first, the old one's public key after it: new tokens are the new key's, old ones still
        // verify.
        const auto restart = server.server().reconfigure(withKeys(
            server, keyList("ES256", {{"new", "ES256", "ec", true}, {"old", "RS256", "rsa", false}})));
        CPPUNIT_ASSERT_MESSAGE("token keys take effect at once",
                               std::none_of(restart.begin(), restart.end(),
                                            [](const std::string& key)
                                            { return key.rfind("tokens.", 0) == 0; }));
        CPPUNIT_ASSERT_EQUAL(std::string("new,old"), publishedKids(server));
        CPPUNIT_ASSERT_EQUAL(200, meStatus(server, before));
        const std::string after = server.signIn("ada");
        CPPUNIT_ASSERT_EQUAL(std::string("new"), kidOf(after));
        CPPUNIT_ASSERT_EQUAL(200, meStatus(server, after));

        // The old key retired: its tokens stop working, the new key's go on.
        server.server().reconfigure(withKeys(server, keyList("ES256", {{"new", "ES256", "ec", true}})));
        CPPUNIT_ASSERT_EQUAL(std::string("new"), publishedKids(server));
        CPPUNIT_ASSERT_EQUAL(401, meStatus(server, before));
        CPPUNIT_ASSERT_EQUAL(200, meStatus(server, after));
    }

    void testReloadWithAnUnusableKeyChangesNothing()
    {
        TestServer server(keyList("RS256", {{"old", "RS256", "rsa", true}}));
        server.createUser("ada", "ada@example.com", "");
        const std::string token = server.signIn("ada");
        Overrides broken =
            keyList("RS256", {{"new", "RS256", "rsa-1024", true}, {"old", "RS256", "rsa", false}});
        try
        {
            server.server().reconfigure(withKeys(server, broken));
            CPPUNIT_FAIL("a 1024-bit key was taken");
        }
        catch (const Poco::InvalidArgumentException& error)
        {
            CPPUNIT_ASSERT_MESSAGE(error.message(),
                                   error.message().find("tokens.keys[0] (kid 'new')") != std::string::npos);
        }
        CPPUNIT_ASSERT_EQUAL(std::string("old"), publishedKids(server));
        CPPUNIT_ASSERT_EQUAL(std::string("old"), kidOf(server.signIn("ada")));
        CPPUNIT_ASSERT_EQUAL(200, meStatus(server, token));
    }

    void testStartWithAnUnusableKeyFails()
    {
        try
        {
            TestServer server(keyList("EdDSA", {{"ed", "EdDSA", "ed448", true}}));
            CPPUNIT_FAIL("an Ed448 key was taken for EdDSA");
        }
        catch (const Poco::InvalidArgumentException& error)
        {
            CPPUNIT_ASSERT_MESSAGE(
                error.message(),
                error.message().find("tokens.keys[0] (kid 'ed'): EdDSA needs an Ed25519 key") !=
                    std::string::npos);
        }
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(JwksTest, "JwksTest");

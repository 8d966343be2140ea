// The host's settings take their defaults and bounds from the host schema, not from code.
#include "app/HostSettings.h"

#include <Poco/AutoPtr.h>
#include <Poco/Util/MapConfiguration.h>

#include <cppunit/extensions/HelperMacros.h>

using identity::host::HostSettings;

namespace
{
HostSettings read(const std::map<std::string, std::string>& values)
{
    Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
    for (const auto& [key, value] : values)
        config->setString(key, value);
    return HostSettings::read(*config);
}

std::string refusal(const std::map<std::string, std::string>& values)
{
    try
    {
        read(values);
    }
    catch (const Poco::InvalidArgumentException& error)
    {
        return error.message();
    }
    return "accepted";
}
} // namespace

class HostSettingsTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(HostSettingsTest);
    CPPUNIT_TEST(testDefaultsAreTheSchemas);
    CPPUNIT_TEST(testBoundsAreTheSchemas);
    CPPUNIT_TEST(testAudienceDefaultsToTheEnvironment);
    CPPUNIT_TEST(testAdminTokenUnsetOrShort);
    CPPUNIT_TEST_SUITE_END();

public:
    void testDefaultsAreTheSchemas()
    {
        const HostSettings settings = read({});
        CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), settings.host);
        CPPUNIT_ASSERT_EQUAL(8080, settings.port);
        CPPUNIT_ASSERT_EQUAL(32, settings.threads);
        CPPUNIT_ASSERT_EQUAL(16384, settings.maxBodyBytes);
        CPPUNIT_ASSERT_EQUAL(std::string("sqlite:var/identity.db"), settings.storageUrl);
        CPPUNIT_ASSERT_EQUAL(7200, settings.accessTtl);
        CPPUNIT_ASSERT_EQUAL(600000, settings.pbkdf2Iterations);
        CPPUNIT_ASSERT_EQUAL(std::string("argon2id"), settings.passwordAlgorithm);
        CPPUNIT_ASSERT_EQUAL(2, settings.argon2TimeCost);
        CPPUNIT_ASSERT_EQUAL(19456, settings.argon2MemoryKib);
        CPPUNIT_ASSERT_EQUAL(100, settings.accountFailuresBeforeLock);
        CPPUNIT_ASSERT_EQUAL(150, settings.debounceMs);
        CPPUNIT_ASSERT(!settings.development);
        CPPUNIT_ASSERT(settings.clients.count("dev"));
    }

    void testBoundsAreTheSchemas()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("server.threads must be at least 2 and at most 1024"),
                             refusal({{"server.threads", "1"}}));
        CPPUNIT_ASSERT_EQUAL(std::string("server.threads must be at least 2 and at most 1024"),
                             refusal({{"server.threads", "1025"}}));
        CPPUNIT_ASSERT_EQUAL(std::string("tokens.sudo_ttl must be at least 60"), refusal({{"tokens.sudo_ttl", "59"}}));
        CPPUNIT_ASSERT_EQUAL(std::string("server.port must be an integer"), refusal({{"server.port", "http"}}));
        CPPUNIT_ASSERT_EQUAL(std::string("accepted"), refusal({{"server.threads", "1024"}}));
    }

    void testAudienceDefaultsToTheEnvironment()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("prod"), read({{"environment.id", "prod"}}).audience);
        CPPUNIT_ASSERT_EQUAL(std::string("api"), read({{"environment.id", "prod"}, {"tokens.audience", "api"}}).audience);
    }

    void testAdminTokenUnsetOrShort()
    {
        CPPUNIT_ASSERT(read({{"admin.token", "${system.env.UNSET_TOKEN}"}}).adminToken.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("admin.token must be at least 32 characters"),
                             refusal({{"admin.token", "short"}}));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(HostSettingsTest, "HostSettingsTest");

// The configuration is checked whole against the host schema and each plugin's config_schema.
#include "app/ConfigValidator.h"

#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/TemporaryFile.h>

#include <cppunit/extensions/HelperMacros.h>

using identity::host::ConfigValidator;

namespace
{
using Defines = std::vector<std::pair<std::string, std::string>>;

const std::string devConfig = std::string(IDENTITY_SOURCE_DIR) + "/config/dev.json";
const std::string manifest = std::string(IDENTITY_PLUGIN_DIR) + "/reauthenticate/plugin.json";

std::vector<ConfigValidator::Problem> problemsOf(Defines defines, const std::string& file = devConfig)
{
    defines.insert(defines.begin(), {"plugins.reauthenticate.manifest", manifest});
    return ConfigValidator::check(ConfigValidator::document(file, defines));
}

std::string describe(const std::vector<ConfigValidator::Problem>& problems)
{
    std::string text;
    for (const auto& problem : problems)
        text += problem.text() + "\n";
    return text;
}

/// The one problem there must be, about `key`.
ConfigValidator::Problem onlyProblem(const Defines& defines, const std::string& key)
{
    const auto problems = problemsOf(defines);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(problems), std::size_t(1), problems.size());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(describe(problems), key, problems[0].key);
    return problems[0];
}
} // namespace

class ConfigValidatorTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(ConfigValidatorTest);
    CPPUNIT_TEST(testDevelopmentConfigurationIsValid);
    CPPUNIT_TEST(testMisspeltHostKeyNamesTheNearestKey);
    CPPUNIT_TEST(testMisspeltPluginKeyNamesTheNearestKey);
    CPPUNIT_TEST(testDefinesAreTypedByTheSchema);
    CPPUNIT_TEST(testValueOfTheWrongTypeIsRefused);
    CPPUNIT_TEST(testPluginBoundsComeFromItsSchema);
    CPPUNIT_TEST(testPluginValuesAreCheckedOverTheManifestDefaults);
    CPPUNIT_TEST(testDisabledPluginIsNotChecked);
    CPPUNIT_TEST(testNotifierOfTheOtherChannelIsRefused);
    CPPUNIT_TEST(testNotifierTypeOfAnotherPluginIsAccepted);
    CPPUNIT_TEST(testMalformedFileIsRefused);
    CPPUNIT_TEST(testKeyNamesWithBracketsOrDotsAreReportedNotThrown);
    CPPUNIT_TEST_SUITE_END();

public:
    void testDevelopmentConfigurationIsValid()
    {
        const auto problems = problemsOf({});
        CPPUNIT_ASSERT_MESSAGE(describe(problems), problems.empty());
    }

    void testMisspeltHostKeyNamesTheNearestKey()
    {
        const auto problem = onlyProblem({{"server.threadz", "8"}}, "server.threadz");
        CPPUNIT_ASSERT_MESSAGE(problem.text(), problem.message.find("did you mean 'threads'?") != std::string::npos);
    }

    void testMisspeltPluginKeyNamesTheNearestKey()
    {
        const auto problem =
            onlyProblem({{"plugins.reauthenticate.config.email.notifer", "smtp"}}, "plugins.reauthenticate.config.email.notifer");
        CPPUNIT_ASSERT_MESSAGE(problem.text(), problem.message.find("did you mean 'notifier'?") != std::string::npos);
    }

    void testDefinesAreTypedByTheSchema()
    {
        const auto problems = problemsOf({{"server.port", "0"},
                                          {"development.enabled", "true"},
                                          {"plugins.reauthenticate.config.limits.cooldown_seconds", "0"},
                                          {"environment.clients[1]", "web"},
                                          {"plugins.reauthenticate.config.product_name", "12345"}});
        CPPUNIT_ASSERT_MESSAGE(describe(problems), problems.empty());
    }

    void testValueOfTheWrongTypeIsRefused()
    {
        const auto problem = onlyProblem({{"server.port", "eighty"}}, "server.port");
        CPPUNIT_ASSERT_EQUAL(std::string("must be an integer"), problem.message);
    }

    void testPluginBoundsComeFromItsSchema()
    {
        onlyProblem({{"plugins.reauthenticate.config.code_ttl", "59"}}, "plugins.reauthenticate.config.code_ttl");
        onlyProblem({{"plugins.reauthenticate.config.code_ttl", "601"}}, "plugins.reauthenticate.config.code_ttl");
        CPPUNIT_ASSERT(problemsOf({{"plugins.reauthenticate.config.code_ttl", "600"}}).empty());
        onlyProblem({{"server.threads", "1"}}, "server.threads");
    }

    void testPluginValuesAreCheckedOverTheManifestDefaults()
    {
        // The file sets no delivery section: the manifest's defaults fill it, and a define changes one key.
        onlyProblem({{"plugins.reauthenticate.config.delivery.batch", "0"}}, "plugins.reauthenticate.config.delivery.batch");
    }

    void testDisabledPluginIsNotChecked()
    {
        const auto problems = problemsOf({{"plugins.reauthenticate.enabled", "false"},
                                          {"plugins.reauthenticate.config.code_ttl", "1"}});
        CPPUNIT_ASSERT_MESSAGE(describe(problems), problems.empty());
    }

    void testNotifierOfTheOtherChannelIsRefused()
    {
        const auto problems = problemsOf({{"plugins.reauthenticate.config.email.notifier", "kannel"}});
        CPPUNIT_ASSERT_MESSAGE(describe(problems), !problems.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("plugins.reauthenticate.config.email.notifier"), problems[0].key);
    }

    void testNotifierTypeOfAnotherPluginIsAccepted()
    {
        // Whether some plugin provides it is known only once plugins load (an unknown one fails the start).
        const auto problems = problemsOf({{"plugins.reauthenticate.config.sms.notifier", "file"},
                                          {"plugins.reauthenticate.config.sms.file.path", "var/sms.jsonl"}});
        CPPUNIT_ASSERT_MESSAGE(describe(problems), problems.empty());
    }

    void testMalformedFileIsRefused()
    {
        Poco::TemporaryFile file;
        {
            Poco::FileOutputStream out(file.path());
            out << "{\"server\": {\"port\": 8080,}";
        }
        CPPUNIT_ASSERT_THROW(ConfigValidator::document(file.path(), {}), Poco::DataException);
    }

    void testKeyNamesWithBracketsOrDotsAreReportedNotThrown()
    {
        // Found by the config fuzz target: a key the document names with a "[" was parsed again as a
        // --define key, and check() threw "--define plugins.reauthenti[ate: malformed index" instead
        // of listing the document's problems.
        Poco::TemporaryFile file;
        {
            Poco::FileOutputStream out(file.path());
            out << R"({"environment": {"id": "dev"}, "server": {"por[t": 1}, "tokens": {"a.b": 2},
                       "logging": {"x[0]": 4}, "passwords": {"": 3},
                       "plugins": {"reauthenti[ate": {"mnafiest": "plugin.json", "enabled": true}}})";
        }
        std::vector<ConfigValidator::Problem> problems;
        CPPUNIT_ASSERT_NO_THROW(problems = ConfigValidator::check(ConfigValidator::document(file.path(), {})));
        const std::string text = describe(problems);
        for (const std::string key :
             {"server.por[t", "tokens.a.b", "logging.x[0]", "passwords.", "plugins.reauthenti[ate.mnafiest"})
            CPPUNIT_ASSERT_MESSAGE(text, text.find(key + ": unknown key") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(text, text.find("--define") == std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(ConfigValidatorTest, "ConfigValidatorTest");

// Generated development secrets: kept in a file of the owner's only, written so that nothing planted
// beside it is written through.
#include "app/SecretStore.h"
#include "support/SystemRandom.h"

#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/StreamCopier.h>
#include <Poco/TemporaryFile.h>

#include <cppunit/extensions/HelperMacros.h>

#include <sys/stat.h>
#include <unistd.h>

using namespace identity;

namespace
{
std::string contents(const std::string& path)
{
    Poco::FileInputStream in(path);
    std::string text;
    Poco::StreamCopier::copyToString(in, text);
    return text;
}
} // namespace

class SecretStoreTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(SecretStoreTest);
    CPPUNIT_TEST(testGeneratedSecretIsKeptForTheOwnerOnly);
    CPPUNIT_TEST(testALinkPlantedBesideTheFileIsNotWrittenThrough);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _folder = Poco::TemporaryFile::tempName();
        Poco::File(_folder).createDirectories();
        _file = _folder + "/secrets.json";
    }

    void tearDown() override { Poco::File(_folder).remove(true); }

    void testGeneratedSecretIsKeptForTheOwnerOnly()
    {
        host::SystemRandom random;
        host::SecretStore store(_file, true, random);
        const std::string secret = store.resolve("tokens.secret", "");
        CPPUNIT_ASSERT_EQUAL(std::size_t(64), secret.size());
        CPPUNIT_ASSERT_EQUAL(secret, host::SecretStore(_file, true, random).resolve("tokens.secret", ""));
        struct stat info{};
        CPPUNIT_ASSERT_EQUAL(0, ::stat(_file.c_str(), &info));
        CPPUNIT_ASSERT_EQUAL(0600u, static_cast<unsigned>(info.st_mode & 0777));
    }

    void testALinkPlantedBesideTheFileIsNotWrittenThrough()
    {
        // Another local user's links where a fixed temporary name would be: the secrets must not land in
        // (or truncate) what they point to.
        const std::string victim = _folder + "/victim";
        {
            Poco::FileOutputStream out(victim);
            out << "keep me";
        }
        CPPUNIT_ASSERT_EQUAL(0, ::symlink(victim.c_str(), (_file + ".tmp").c_str()));
        host::SystemRandom random;
        const std::string secret = host::SecretStore(_file, true, random).resolve("tokens.secret", "");
        CPPUNIT_ASSERT_EQUAL(std::string("keep me"), contents(victim));
        CPPUNIT_ASSERT(contents(_file).find(secret) != std::string::npos);
        struct stat info{};
        CPPUNIT_ASSERT_EQUAL(0, ::lstat(_file.c_str(), &info));
        CPPUNIT_ASSERT(S_ISREG(info.st_mode));
    }

private:
    std::string _folder;
    std::string _file;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(SecretStoreTest, "SecretStoreTest");

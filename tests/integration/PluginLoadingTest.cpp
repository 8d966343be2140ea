// Plugins loaded by a real host from the real built libraries.
#include "support/TestServer.h"

#include <Poco/File.h>
#include <Poco/Path.h>
#include <Poco/TemporaryFile.h>
#include <Poco/FileStream.h>
#include <Poco/StreamCopier.h>

#include "identity/sdk/Version.h"

#include <cppunit/extensions/HelperMacros.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace identity::test;

namespace
{
std::string plugin(const std::string& name) { return std::string(IDENTITY_PLUGIN_DIR) + "/" + name; }

bool mapped(const std::string& library)
{
    Poco::FileInputStream in("/proc/self/maps");
    std::string maps;
    Poco::StreamCopier::copyToString(in, maps);
    return maps.find(library) != std::string::npos;
}

std::string statusOf(TestServer& server, const std::string& name, std::string& error)
{
    for (const auto& status : server.server().plugins().status())
        if (status.name == name)
        {
            error = status.lastError;
            return status.state;
        }
    return "absent";
}
} // namespace

class PluginLoadingTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(PluginLoadingTest);
    CPPUNIT_TEST(testBuiltPluginIsLoadedAndServes);
    CPPUNIT_TEST(testManifestForAnotherSdkMajorIsRefused);
    CPPUNIT_TEST(testLibraryBuiltAgainstAnotherSdkIsRefused);
    CPPUNIT_TEST(testPluginThatThrowsInStartIsUnloadedAndHostKeepsServing);
    CPPUNIT_TEST(testMissingManifestIsReportedNotFatal);
    CPPUNIT_TEST(testPluginIsUnloadedWhenTheHostStops);
    CPPUNIT_TEST(testFailingRouteAnswers500WithoutDetail);
    CPPUNIT_TEST(testStalePrivateFoldersGoAndFoldersBeingMadeStay);
    CPPUNIT_TEST_SUITE_END();

public:
    void testBuiltPluginIsLoadedAndServes()
    {
        TestServer server;
        std::string error;
        CPPUNIT_ASSERT_EQUAL(std::string("running"), statusOf(server, "reauthenticate", error));
        CPPUNIT_ASSERT(mapped("libreauthenticate.so"));
        const HttpResult health = server.request("GET", "/healthz");
        CPPUNIT_ASSERT(health.body.find("\"name\":\"reauthenticate\"") != std::string::npos);
        // Served: without a token it is the plugin's route answering 401, not a 404.
        CPPUNIT_ASSERT_EQUAL(401, server.post("/auth/v1/user/reauthenticate", "{\"verify_opt\":\"email_code\"}").status);
    }

    void testManifestForAnotherSdkMajorIsRefused()
    {
        const std::string nextMajor = std::to_string(IDENTITY_SDK_VERSION_MAJOR + 1) + ".0";
        const std::string ours =
            std::to_string(IDENTITY_SDK_VERSION_MAJOR) + "." + std::to_string(IDENTITY_SDK_VERSION_MINOR);
        const std::string folder = Poco::TemporaryFile::tempName();
        Poco::File(folder).createDirectories();
        {
            Poco::FileOutputStream out(folder + "/plugin.json");
            out << "{\"name\":\"reauthenticate\",\"version\":\"9.0.0\",\"sdk_version\":\"" << nextMajor
                << "\",\"library\":\""
                << plugin("reauthenticate/libreauthenticate.so") << "\",\"class\":\"ReauthenticatePlugin\"}";
        }
        TestServer server(Overrides{{"plugins.reauthenticate.manifest", folder + "/plugin.json"}});
        std::string error;
        CPPUNIT_ASSERT_EQUAL(std::string("failed"), statusOf(server, "reauthenticate", error));
        CPPUNIT_ASSERT_MESSAGE(error, error.find("SDK " + nextMajor) != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(error, error.find("SDK " + ours) != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(404, server.post("/auth/v1/user/reauthenticate", "{}").status);
        CPPUNIT_ASSERT_EQUAL(200, server.request("GET", "/healthz").status);
        Poco::File(folder).remove(true);
    }

    void testLibraryBuiltAgainstAnotherSdkIsRefused()
    {
        TestServer server(Overrides{{"plugins.future.manifest", plugin("future/plugin.json")}});
        std::string error;
        CPPUNIT_ASSERT_EQUAL(std::string("failed"), statusOf(server, "future", error));
        CPPUNIT_ASSERT_MESSAGE(error, error.find("built against SDK 4.0") != std::string::npos);
        CPPUNIT_ASSERT(!mapped("libfuture.so"));
        CPPUNIT_ASSERT_EQUAL(404, server.request("GET", "/future/hello").status);
        CPPUNIT_ASSERT_EQUAL(std::string("running"), statusOf(server, "reauthenticate", error));
    }

    void testPluginThatThrowsInStartIsUnloadedAndHostKeepsServing()
    {
        TestServer server(Overrides{{"plugins.throwing.manifest", plugin("throwing/plugin.json")}});
        std::string error;
        CPPUNIT_ASSERT_EQUAL(std::string("failed"), statusOf(server, "throwing", error));
        CPPUNIT_ASSERT_MESSAGE(error, error.find("this plugin always fails to start") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE("the library is unloaded", !mapped("libthrowing.so"));
        CPPUNIT_ASSERT_EQUAL(404, server.request("GET", "/throwing/hello").status); // its route is gone
        CPPUNIT_ASSERT_EQUAL(200, server.request("GET", "/healthz").status);
        CPPUNIT_ASSERT_EQUAL(std::string("running"), statusOf(server, "reauthenticate", error));
        server.createUser("alice", "alice@example.com", "");
        server.requestCode(server.signIn("alice"));
    }

    void testMissingManifestIsReportedNotFatal()
    {
        TestServer server(Overrides{{"plugins.ghost.manifest", "/nonexistent/plugin.json"}});
        std::string error;
        CPPUNIT_ASSERT_EQUAL(std::string("failed"), statusOf(server, "ghost", error));
        CPPUNIT_ASSERT(error.find("/nonexistent/plugin.json") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(200, server.request("GET", "/healthz").status);
    }

    void testStalePrivateFoldersGoAndFoldersBeingMadeStay()
    {
        // A host that died left its private folder, whose lock nobody holds: the next host removes it.
        // A host starting at this moment has a staging folder whose lock is not taken yet: it stays (the
        // race that had two hosts started at once delete each other's folder).
        const std::string temp = Poco::Path::temp();
        const std::string tag = std::to_string(::getpid()) + "-" + std::to_string(std::rand());
        const std::string stale = temp + "identity-host-plugins-" + tag + "a", making = temp + "identity-host-staging-" + tag + "b";
        for (const std::string& folder : {stale, making})
            CPPUNIT_ASSERT_EQUAL(0, ::mkdir(folder.c_str(), 0700));
        const int owner = ::open((stale + "/.owner").c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
        CPPUNIT_ASSERT(owner >= 0);
        ::close(owner);
        {
            TestServer server;
            CPPUNIT_ASSERT_EQUAL(200, server.request("GET", "/healthz").status);
        }
        CPPUNIT_ASSERT(!Poco::File(stale).exists());
        CPPUNIT_ASSERT(Poco::File(making).exists());
        Poco::File(making).remove(true);
    }

    void testFailingRouteAnswers500WithoutDetail()
    {
        TestServer server(Overrides{{"plugins.faulty.manifest", plugin("faulty/plugin.json")}});
        for (const char* path : {"/faulty/std", "/faulty/other"})
        {
            const HttpResult result = server.request("GET", path);
            CPPUNIT_ASSERT_EQUAL(500, result.status);
            CPPUNIT_ASSERT_EQUAL(std::string("internal"), result.string("error"));
            CPPUNIT_ASSERT_EQUAL(5000, result.errorCode());
            CPPUNIT_ASSERT_EQUAL(std::string("Internal error"), result.string("error_description"));
            CPPUNIT_ASSERT(result.body.find("7f3a") == std::string::npos);
            CPPUNIT_ASSERT_EQUAL(std::string("no-store"), result.headers.get("Cache-Control", ""));
        }
        CPPUNIT_ASSERT_EQUAL(200, server.request("GET", "/healthz").status);
    }

    void testPluginIsUnloadedWhenTheHostStops()
    {
        {
            TestServer server;
            CPPUNIT_ASSERT(mapped("libreauthenticate.so"));
        }
        CPPUNIT_ASSERT_MESSAGE("dlclose really unloaded the plugin", !mapped("libreauthenticate.so"));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(PluginLoadingTest, "PluginLoadingTest");

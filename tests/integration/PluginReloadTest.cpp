// Reloading plugin builds in a running host: on request, from the file watcher in development mode,
// and on a new configuration. Real libraries (tests/plugins/CounterPlugin.cpp built good and broken)
// behind one manifest in a temporary folder, loaded by a real host.
#include "support/TestServer.h"

#include <Poco/File.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/FileStream.h>
#include <Poco/StreamCopier.h>
#include <Poco/TemporaryFile.h>
#include <Poco/Util/MapConfiguration.h>

#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <cstdio>
#include <fstream>

using namespace identity::test;

namespace
{
const std::string adminToken = "reload-test-admin-token-0123456789abcdef";

std::string readAll(const std::string& path)
{
    Poco::FileInputStream in(path);
    std::string text;
    Poco::StreamCopier::copyToString(in, text);
    return text;
}

std::string build(const std::string& variant)
{
    return std::string(IDENTITY_PLUGIN_DIR) + "/counter-" + variant + "/libcounter.so";
}

/// How many private copies of the library `name` this process has mapped.
int mappedCopies(const std::string& name = "libcounter.so")
{
    const std::string maps = readAll("/proc/self/maps");
    std::set<std::string> files;
    std::istringstream in(maps);
    for (std::string line; std::getline(in, line);)
        if (line.find("-" + name) != std::string::npos)
            files.insert(line.substr(line.find('/')));
    return static_cast<int>(files.size());
}

std::size_t linesIn(const std::string& path)
{
    if (!Poco::File(path).exists())
        return 0;
    const std::string text = readAll(path);
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

/// A folder with the counter's manifest and a library that builds are installed into.
class CounterInstall
{
public:
    CounterInstall() : _folder(Poco::TemporaryFile::tempName())
    {
        Poco::File(_folder).createDirectories();
        Poco::File(std::string(IDENTITY_SOURCE_DIR) + "/tests/plugins/CounterPlugin.json").copyTo(manifest());
        install("one");
    }
    ~CounterInstall() { Poco::File(_folder).remove(true); }

    std::string manifest() const { return _folder + "/plugin.json"; }
    std::string library() const { return _folder + "/libcounter.so"; }

    /// As an installer does: a new file renamed over the old one.
    void install(const std::string& variant)
    {
        Poco::File(build(variant)).copyTo(_folder + "/.libcounter.so.new");
        CPPUNIT_ASSERT(std::rename((_folder + "/.libcounter.so.new").c_str(), library().c_str()) == 0);
    }

    /// As a linker does: the same file truncated and written again, piece by piece.
    void writeInPlace(const std::string& bytes)
    {
        std::ofstream out(library(), std::ios::binary | std::ios::trunc);
        for (std::size_t at = 0; at < bytes.size(); at += 4096)
        {
            out.write(bytes.data() + at, static_cast<std::streamsize>(std::min<std::size_t>(4096, bytes.size() - at)));
            out.flush();
        }
    }

private:
    std::string _folder;
};

Overrides withCounter(const CounterInstall& install, Overrides more = {})
{
    more["plugins.counter.manifest"] = install.manifest();
    more["admin.token"] = adminToken;
    return more;
}

std::vector<std::pair<std::string, std::string>> admin() { return {{"Authorization", "Bearer " + adminToken}}; }

Poco::JSON::Object::Ptr pluginEntry(TestServer& server, const std::string& name)
{
    const HttpResult result = server.request("GET", "/admin/plugins", "", admin());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(result.body, 200, result.status);
    auto plugins = result.json->getArray("plugins");
    for (std::size_t i = 0; i < plugins->size(); ++i)
        if (plugins->getObject(i)->getValue<std::string>("name") == name)
            return plugins->getObject(i);
    CPPUNIT_FAIL("no plugin " + name + " in " + result.body);
    return nullptr;
}

int generationOf(TestServer& server, const std::string& name)
{
    return pluginEntry(server, name)->getValue<int>("generation");
}

int servingBuild(TestServer& server)
{
    const HttpResult result = server.request("GET", "/counter/build");
    return result.status == 200 ? result.json->getValue<int>("build") : -result.status;
}

HttpResult reload(TestServer& server, const std::string& name)
{
    return server.request("POST", "/admin/plugins/" + name + "/reload", "", admin());
}

Poco::AutoPtr<Poco::Util::MapConfiguration> changed(TestServer& server, const Overrides& changes)
{
    Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
    for (const auto& entry : server.settings())
        config->setString(entry.first, entry.second);
    for (const auto& entry : changes)
        config->setString(entry.first, entry.second);
    return config;
}
} // namespace

class PluginReloadTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(PluginReloadTest);
    CPPUNIT_TEST(testReloadServesTheNewBuildAndUnloadsTheOld);
    CPPUNIT_TEST(testAdminListsEveryFieldOfEachPlugin);
    CPPUNIT_TEST(testBrokenBuildsLeaveTheServingGenerationInPlace);
    CPPUNIT_TEST(testMessagesLeaveWithTheirGeneration);
    CPPUNIT_TEST(testDevelopmentModeReloadsARenamedBuild);
    CPPUNIT_TEST(testDevelopmentModeReloadsABuildWrittenInPlace);
    CPPUNIT_TEST(testReconfigureRestartsOnlyWhatChanged);
    CPPUNIT_TEST(testReconfigureDisablesAndEnablesAPlugin);
    CPPUNIT_TEST(testReadinessNamesAPluginThatIsNotRunning);
    CPPUNIT_TEST(testSecondHostOnABusyPortFailsToStart);
    CPPUNIT_TEST(testReloadNeedsTheAdminToken);
    CPPUNIT_TEST(testReloadsUnderLoadOnARouteThatFillsItsBody);
    CPPUNIT_TEST(testTruncatedBuildIsRefusedBeforeItIsMapped);
    CPPUNIT_TEST(testSlowClientPinsNoPluginBuild);
    CPPUNIT_TEST(testNotifierOfAnotherPluginDeliversAndFollowsItsReloads);
    CPPUNIT_TEST(testProviderStaysLoadedWhileItsNotifierIsInUse);
    CPPUNIT_TEST_SUITE_END();

public:
    void testReloadServesTheNewBuildAndUnloadsTheOld()
    {
        CounterInstall install;
        TestServer server(withCounter(install));
        CPPUNIT_ASSERT_EQUAL(1, servingBuild(server));
        CPPUNIT_ASSERT_EQUAL(1, generationOf(server, "counter"));
        CPPUNIT_ASSERT_EQUAL(1, mappedCopies());

        install.install("two");
        const HttpResult result = reload(server, "counter");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(result.body, 200, result.status);
        CPPUNIT_ASSERT_EQUAL(2, result.json->getValue<int>("generation"));
        CPPUNIT_ASSERT_EQUAL(2, servingBuild(server)); // the new code, not the old image bound again
        CPPUNIT_ASSERT_MESSAGE("the old copy is unmapped", waitFor([] { return mappedCopies() == 1; }));
    }

    void testAdminListsEveryFieldOfEachPlugin()
    {
        CounterInstall install;
        TestServer server(withCounter(install));
        const auto entry = pluginEntry(server, "counter");
        CPPUNIT_ASSERT_EQUAL(std::string("0.0.1"), entry->getValue<std::string>("version"));
        CPPUNIT_ASSERT_EQUAL(std::string("3.0"), entry->getValue<std::string>("sdk_version"));
        CPPUNIT_ASSERT_EQUAL(std::string("running"), entry->getValue<std::string>("state"));
        CPPUNIT_ASSERT_EQUAL(1, entry->getValue<int>("generation"));
        CPPUNIT_ASSERT_EQUAL(install.library(), entry->getValue<std::string>("library"));
        CPPUNIT_ASSERT(entry->getValue<std::string>("loaded_at").size() == 24); // 2026-12-01T22:01:39.933Z
        CPPUNIT_ASSERT_EQUAL(std::string(""), entry->getValue<std::string>("last_error"));
        const auto routes = entry->getArray("routes");
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), routes->size());
        CPPUNIT_ASSERT_EQUAL(std::string("GET /counter/build"), routes->getElement<std::string>(0));
        CPPUNIT_ASSERT_EQUAL(std::string("running"), pluginEntry(server, "reauthenticate")->getValue<std::string>("state"));
    }

    void testBrokenBuildsLeaveTheServingGenerationInPlace()
    {
        CounterInstall install;
        TestServer server(withCounter(install));
        const std::vector<std::pair<std::string, std::string>> broken = {
            {"throws", "counter build 1 refuses to start"},
            {"missing", "undefined symbol: counterFunctionNoLibraryDefines"},
            {"future", "was built against SDK 4.0"},
            {"hostmessage", "redefines the host's message"},
            {"exported", "symbols besides its entry points"},
        };
        for (const auto& [variant, why] : broken)
        {
            install.install(variant);
            const HttpResult result = reload(server, "counter");
            CPPUNIT_ASSERT_EQUAL_MESSAGE(variant + ": " + result.body, 412, result.status);
            CPPUNIT_ASSERT_EQUAL(4120, result.errorCode());
            CPPUNIT_ASSERT_MESSAGE("the reason is for the admin list, not the answer",
                                   result.body.find(why) == std::string::npos);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(variant, 1, servingBuild(server));
            const auto entry = pluginEntry(server, "counter");
            CPPUNIT_ASSERT_EQUAL(std::string("running"), entry->getValue<std::string>("state"));
            CPPUNIT_ASSERT_EQUAL(1, entry->getValue<int>("generation"));
            const std::string error = entry->getValue<std::string>("last_error");
            CPPUNIT_ASSERT_MESSAGE(variant + ": " + error, error.find(why) != std::string::npos);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(variant + ": the failed build is unloaded", 1, mappedCopies());
        }
        install.writeInPlace("this is not a shared library\n");
        const HttpResult garbage = reload(server, "counter");
        CPPUNIT_ASSERT_EQUAL(412, garbage.status);
        CPPUNIT_ASSERT(pluginEntry(server, "counter")->getValue<std::string>("last_error").find("cannot load") !=
                       std::string::npos);
        CPPUNIT_ASSERT_EQUAL(1, servingBuild(server));

        install.install("two");
        CPPUNIT_ASSERT_EQUAL(200, reload(server, "counter").status);
        CPPUNIT_ASSERT_EQUAL(2, servingBuild(server));
        CPPUNIT_ASSERT_EQUAL(2, generationOf(server, "counter"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), pluginEntry(server, "counter")->getValue<std::string>("last_error"));
    }

    void testMessagesLeaveWithTheirGeneration()
    {
        CounterInstall install;
        TestServer server(withCounter(install));
        CPPUNIT_ASSERT_EQUAL(std::string("Counter build 1 is busy"),
                             server.request("GET", "/counter/busy").string("error_description"));
        install.install("two");
        CPPUNIT_ASSERT_EQUAL(200, reload(server, "counter").status);
        CPPUNIT_ASSERT_EQUAL(std::string("Counter build 2 is busy"),
                             server.request("GET", "/counter/busy").string("error_description"));
        // The host's own keys stay the host's: a build that redefines one never serves.
        install.install("hostmessage");
        CPPUNIT_ASSERT_EQUAL(412, reload(server, "counter").status);
        CPPUNIT_ASSERT_EQUAL(std::string("Not found"), server.request("GET", "/nowhere").string("error_description"));
    }

    void testDevelopmentModeReloadsARenamedBuild()
    {
        CounterInstall install;
        TestServer server(withCounter(install, {{"development.enabled", "true"}}));
        install.install("two");
        CPPUNIT_ASSERT_MESSAGE("the new build serves", waitFor([&] { return servingBuild(server) == 2; }));
        CPPUNIT_ASSERT_EQUAL(2, generationOf(server, "counter"));
        CPPUNIT_ASSERT(waitFor([] { return mappedCopies() == 1; }));

        install.install("throws"); // a broken build: the serving one stays, the log says why
        CPPUNIT_ASSERT(waitFor([&] {
            return pluginEntry(server, "counter")->getValue<std::string>("last_error").find("refuses to start") !=
                   std::string::npos;
        }));
        CPPUNIT_ASSERT_EQUAL(2, servingBuild(server));
    }

    void testDevelopmentModeReloadsABuildWrittenInPlace()
    {
        CounterInstall install;
        TestServer server(withCounter(install, {{"development.enabled", "true"}}));
        install.writeInPlace(readAll(build("two")));
        CPPUNIT_ASSERT_MESSAGE("the new build serves", waitFor([&] { return servingBuild(server) == 2; }));
        CPPUNIT_ASSERT_EQUAL(2, generationOf(server, "counter"));
    }

    void testReconfigureRestartsOnlyWhatChanged()
    {
        CounterInstall install;
        TestServer server(withCounter(install));
        const std::string token = server.signIn((server.createUser("ada", "ada@example.com", ""), "ada"));
        server.requestCode(token);
        // The default cooldown refuses a second code at once...
        CPPUNIT_ASSERT_EQUAL(429, server.post("/auth/v1/user/reauthenticate", "{\"verify_opt\":\"email_code\"}", token).status);

        const auto restart = server.server().reconfigure(changed(server, {
            {"plugins.reauthenticate.config.limits.cooldown_seconds", "0"},
            {"server.threads", "16"},
        }));
        CPPUNIT_ASSERT(std::find(restart.begin(), restart.end(), "server.threads") != restart.end());
        CPPUNIT_ASSERT_EQUAL(2, generationOf(server, "reauthenticate"));
        CPPUNIT_ASSERT_EQUAL(1, generationOf(server, "counter")); // its configuration did not change
        // ...and the new configuration serves the next request.
        server.requestCode(token);
    }

    void testReconfigureDisablesAndEnablesAPlugin()
    {
        CounterInstall install;
        TestServer server(withCounter(install));
        server.server().reconfigure(changed(server, {{"plugins.counter.enabled", "false"}}));
        CPPUNIT_ASSERT_EQUAL(-404, servingBuild(server));
        CPPUNIT_ASSERT_EQUAL(std::string("disabled"), pluginEntry(server, "counter")->getValue<std::string>("state"));
        CPPUNIT_ASSERT(waitFor([] { return mappedCopies() == 0; }));

        server.server().reconfigure(changed(server, {{"plugins.counter.enabled", "true"}}));
        CPPUNIT_ASSERT_EQUAL(1, servingBuild(server));
        CPPUNIT_ASSERT_EQUAL(2, generationOf(server, "counter")); // generations count every load
    }

    void testReadinessNamesAPluginThatIsNotRunning()
    {
        {
            TestServer server;
            const HttpResult ready = server.request("GET", "/readyz");
            CPPUNIT_ASSERT_EQUAL_MESSAGE(ready.body, 200, ready.status);
            CPPUNIT_ASSERT_EQUAL(std::string("ok"), ready.string("status"));
        }
        TestServer server(Overrides{{"plugins.ghost.manifest", "/nonexistent/plugin.json"}});
        const HttpResult ready = server.request("GET", "/readyz");
        CPPUNIT_ASSERT_EQUAL(503, ready.status);
        CPPUNIT_ASSERT_EQUAL(5030, ready.errorCode());
        const HttpResult health = server.request("GET", "/healthz");
        CPPUNIT_ASSERT_MESSAGE("no operator detail in public", health.body.find("nonexistent") == std::string::npos);
        CPPUNIT_ASSERT_EQUAL(200, health.status);
        CPPUNIT_ASSERT_EQUAL(std::string("degraded"), health.string("status"));
        CPPUNIT_ASSERT(health.body.find("plugin 'ghost' is not running") != std::string::npos);
    }

    void testSecondHostOnABusyPortFailsToStart()
    {
        TestServer first;
        const std::string port = std::to_string(first.server().port());
        try
        {
            TestServer second(Overrides{{"server.port", port}});
            CPPUNIT_FAIL("a second host started on port " + port);
        }
        catch (const Poco::Exception& error)
        {
            CPPUNIT_ASSERT_MESSAGE(error.displayText(), error.displayText().find("cannot listen on 127.0.0.1:" + port) !=
                                                            std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(error.displayText(), error.displayText().find("in use") != std::string::npos);
        }
        CPPUNIT_ASSERT_EQUAL(200, first.request("GET", "/healthz").status);
    }

    void testReloadNeedsTheAdminToken()
    {
        CounterInstall install;
        TestServer server(withCounter(install));
        CPPUNIT_ASSERT_EQUAL(401, server.request("POST", "/admin/plugins/counter/reload").status);
        CPPUNIT_ASSERT_EQUAL(401, server.request("POST", "/admin/plugins/counter/reload", "",
                                                 {{"Authorization", "Bearer wrong-token-wrong-token-wrong-token"}})
                                      .status);
        CPPUNIT_ASSERT_EQUAL(1, generationOf(server, "counter"));
        CPPUNIT_ASSERT_EQUAL(404, server.request("POST", "/admin/plugins/nobody/reload", "", admin()).status);
    }

    void testReloadsUnderLoadOnARouteThatFillsItsBody()
    {
        // The body a plugin fills holds values whose code is in the plugin's image: the generation must
        // stay loaded until the response is sent and destroyed, however fast the reloads come.
        CounterInstall install;
        TestServer server(withCounter(install));
        std::atomic<bool> stop{false};
        std::atomic<long> ok{0}, failed{0};
        std::vector<std::thread> clients;
        for (int c = 0; c < 6; ++c)
            clients.emplace_back([&] {
                while (!stop)
                    (servingBuild(server) == 1 ? ok : failed)++;
            });
        int reloaded = 0;
        for (int i = 0; i < 150; ++i)
            reloaded += server.server().plugins().reload("counter");
        stop = true;
        for (auto& client : clients)
            client.join();
        CPPUNIT_ASSERT_EQUAL(150, reloaded);
        CPPUNIT_ASSERT_EQUAL(0L, failed.load());
        CPPUNIT_ASSERT(ok.load() > 150);
        CPPUNIT_ASSERT_EQUAL(151, generationOf(server, "counter"));
        CPPUNIT_ASSERT(waitFor([] { return mappedCopies() == 1; }));
    }

    void testSlowClientPinsNoPluginBuild()
    {
        // A request still sending its body holds no generation: the builds it would pin could keep
        // every later reload waiting for them to retire.
        CounterInstall install;
        TestServer server(withCounter(install));
        Poco::Net::StreamSocket slow(Poco::Net::SocketAddress("127.0.0.1", server.server().port()));
        const std::string head = "POST /auth/v1/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                 "Content-Length: 64\r\n\r\n{\"username\":";
        slow.sendBytes(head.data(), static_cast<int>(head.size()));
        for (int i = 0; i < 4; ++i)
            CPPUNIT_ASSERT_MESSAGE("reload " + std::to_string(i), server.server().plugins().reload("counter"));
        CPPUNIT_ASSERT_MESSAGE("the old builds unload while the slow request waits",
                               waitFor([] { return mappedCopies() == 1; }));
        slow.close();
    }

    void testTruncatedBuildIsRefusedBeforeItIsMapped()
    {
        // What a linker leaves half-way: a valid ELF header whose segments run past the end of the file.
        CounterInstall install;
        TestServer server(withCounter(install));
        const std::string image = readAll(build("two"));
        for (const std::size_t size : {std::size_t(1000), image.size() / 2, image.size() - 1})
        {
            install.writeInPlace(image.substr(0, size));
            CPPUNIT_ASSERT_EQUAL(412, reload(server, "counter").status);
            const std::string error = pluginEntry(server, "counter")->getValue<std::string>("last_error");
            CPPUNIT_ASSERT_MESSAGE(error, error.find("truncated") != std::string::npos);
            CPPUNIT_ASSERT_EQUAL(1, servingBuild(server));
        }
        install.writeInPlace(image);
        CPPUNIT_ASSERT_EQUAL(200, reload(server, "counter").status);
        CPPUNIT_ASSERT_EQUAL(2, servingBuild(server));
    }

    void testNotifierOfAnotherPluginDeliversAndFollowsItsReloads()
    {
        const std::string sms = Poco::TemporaryFile::tempName();
        Poco::TemporaryFile::registerForDeletion(sms);
        TestServer server(sharingSms(sms));
        const std::string token = server.signIn((server.createUser("nia", "", "+8613800138001"), "nia"));
        CPPUNIT_ASSERT_EQUAL(200, server.post("/auth/v1/user/reauthenticate", "{\"verify_opt\":\"phone_code\"}", token).status);
        CPPUNIT_ASSERT_MESSAGE("the code went through the other plugin's notifier", waitFor([&] { return linesIn(sms) == 1; }));

        CPPUNIT_ASSERT_EQUAL(200, reload(server, "file-notifier").status);
        CPPUNIT_ASSERT_EQUAL(2, generationOf(server, "file-notifier"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE("its user restarts with the new notifier", 2, generationOf(server, "reauthenticate"));
        CPPUNIT_ASSERT_MESSAGE("the old provider build unloads", waitFor([] { return mappedCopies("libfile-notifier.so") == 1; }));
        CPPUNIT_ASSERT_EQUAL(200, server.post("/auth/v1/user/reauthenticate", "{\"verify_opt\":\"phone_code\"}", token).status);
        CPPUNIT_ASSERT(waitFor([&] { return linesIn(sms) == 2; }));
    }

    void testProviderStaysLoadedWhileItsNotifierIsInUse()
    {
        const std::string sms = Poco::TemporaryFile::tempName();
        Poco::TemporaryFile::registerForDeletion(sms);
        TestServer server(sharingSms(sms));
        const std::string token = server.signIn((server.createUser("uma", "", "+8613800138002"), "uma"));

        server.server().reconfigure(changed(server, {{"plugins.file-notifier.enabled", "false"}}));
        CPPUNIT_ASSERT_EQUAL(std::string("disabled"), pluginEntry(server, "file-notifier")->getValue<std::string>("state"));
        CPPUNIT_ASSERT_MESSAGE("still referenced by reauthenticate's notifier", mappedCopies("libfile-notifier.so") == 1);
        CPPUNIT_ASSERT_EQUAL(200, server.post("/auth/v1/user/reauthenticate", "{\"verify_opt\":\"phone_code\"}", token).status);
        CPPUNIT_ASSERT(waitFor([&] { return linesIn(sms) == 1; }));
        // Without a provider, a new reauthenticate build cannot start: the serving one stays.
        CPPUNIT_ASSERT_EQUAL(412, reload(server, "reauthenticate").status);
        CPPUNIT_ASSERT(pluginEntry(server, "reauthenticate")->getValue<std::string>("last_error").find(
                           "unknown notifier type 'file'") != std::string::npos);

        server.server().reconfigure(changed(server, {{"plugins.file-notifier.enabled", "false"},
                                                     {"plugins.reauthenticate.config.sms.notifier", "log"}}));
        CPPUNIT_ASSERT_MESSAGE("released with the last notifier", waitFor([] { return mappedCopies("libfile-notifier.so") == 0; }));
    }

private:
    static Overrides sharingSms(const std::string& file)
    {
        return {{"plugins.file-notifier.manifest", std::string(IDENTITY_PLUGIN_DIR) + "/file-notifier/plugin.json"},
                {"plugins.reauthenticate.config.sms.notifier", "file"},
                {"plugins.reauthenticate.config.sms.file.path", file},
                {"plugins.reauthenticate.config.limits.cooldown_seconds", "0"},
                {"admin.token", adminToken}};
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(PluginReloadTest, "PluginReloadTest");

// What a plugin route costs against the same handler compiled into the host, and what a reload costs
// while clients keep calling the plugin. A real host in this process on loopback HTTP with keep-alive
// connections; the plugin is tests/plugins/CounterPlugin.cpp (GET /counter/build answers
// {"build": N}), the host route is the same lambda registered with IdentityServer::addHostRoute.
//
//   identity-plugin-bench [--clients=N] [--seconds=S] [--rounds=R] [--reloads=K]
//
// Rounds alternate plugin and host so that drift on a shared machine hits both alike.
#include "app/IdentityServer.h"
#include "support/SystemClock.h"

#include <Poco/File.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/NullChannel.h>
#include <Poco/StreamCopier.h>
#include <Poco/TemporaryFile.h>
#include <Poco/Util/MapConfiguration.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

using namespace identity;
using Clock = std::chrono::steady_clock;

namespace
{
struct Load
{
    std::atomic<long> ok{0}, failed{0};
    std::mutex mutex;
    std::vector<std::pair<double, double>> samples; // (start in s since the run began, latency in ms)
};

double percentile(std::vector<double> values, double p)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    return values[static_cast<std::size_t>(p * (values.size() - 1))];
}

/// N clients on `path` for `seconds`; returns requests/s.
double hammer(Poco::UInt16 port, const std::string& path, int clients, double seconds, Load& load)
{
    std::vector<std::thread> threads;
    const auto started = Clock::now();
    const auto deadline = started + std::chrono::duration<double>(seconds);
    for (int c = 0; c < clients; ++c)
        threads.emplace_back([&] {
            Poco::Net::HTTPClientSession session("127.0.0.1", port);
            std::string body;
            std::vector<std::pair<double, double>> mine;
            while (Clock::now() < deadline)
            {
                const auto t0 = Clock::now();
                int status = 0;
                try
                {
                    Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
                    request.setKeepAlive(true);
                    session.sendRequest(request);
                    Poco::Net::HTTPResponse response;
                    body.clear();
                    Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
                    status = response.getStatus();
                }
                catch (const Poco::Exception&)
                {
                    session.reset();
                }
                const auto t1 = Clock::now();
                (status == 200 ? load.ok : load.failed)++;
                mine.emplace_back(std::chrono::duration<double>(t0 - started).count(),
                                  std::chrono::duration<double, std::milli>(t1 - t0).count());
            }
            std::lock_guard<std::mutex> lock(load.mutex);
            load.samples.insert(load.samples.end(), mine.begin(), mine.end());
        });
    for (auto& thread : threads)
        thread.join();
    return static_cast<double>(load.samples.size()) / std::chrono::duration<double>(Clock::now() - started).count();
}
} // namespace

int main(int argc, char** argv)
{
    int clients = 8, rounds = 6, reloads = 20;
    double seconds = 2;
    for (int i = 1; i < argc; ++i)
    {
        if (std::strncmp(argv[i], "--clients=", 10) == 0)
            clients = std::atoi(argv[i] + 10);
        else if (std::strncmp(argv[i], "--seconds=", 10) == 0)
            seconds = std::atof(argv[i] + 10);
        else if (std::strncmp(argv[i], "--rounds=", 9) == 0)
            rounds = std::atoi(argv[i] + 9);
        else if (std::strncmp(argv[i], "--reloads=", 10) == 0)
            reloads = std::atoi(argv[i] + 10);
    }
    Poco::Logger::root().setChannel(new Poco::NullChannel);

    const std::string folder = Poco::TemporaryFile::tempName();
    Poco::File(folder).createDirectories();
    Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
    for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
             {"server.port", "0"},
             {"server.threads", "64"},
             {"storage.url", "sqlite:" + folder + "/identity.db"},
             {"secrets.file", folder + "/secrets.json"},
             {"secrets.generate", "true"},
             {"plugins.counter.manifest", std::string(IDENTITY_PLUGIN_DIR) + "/counter-one/plugin.json"}})
        config->setString(key, value);

    host::SystemClock clock;
    host::IdentityServer server(*config, clock);
    // The plugin's handler, word for word, compiled into the host.
    server.addHostRoute(sdk::Route{"GET", "/host/build", sdk::Route::Auth::None,
                                   [](const sdk::Request&, sdk::Response& response) { response.body->set("build", 1); }});
    server.start();

    std::printf("dispatch: %d clients, %d rounds of %.1f s per route, alternating\n", clients, rounds, seconds);
    std::vector<double> plugin, host;
    long failed = 0;
    for (int r = 0; r < rounds; ++r)
        for (const bool viaPlugin : {true, false})
        {
            Load load;
            const double rate = hammer(server.port(), viaPlugin ? "/counter/build" : "/host/build", clients, seconds, load);
            (viaPlugin ? plugin : host).push_back(rate);
            failed += load.failed;
        }
    const double pluginRate = percentile(plugin, 0.5), hostRate = percentile(host, 0.5);
    std::printf("%-36s %9.0f req/s (median of rounds)\n", "plugin route GET /counter/build", pluginRate);
    std::printf("%-36s %9.0f req/s (median of rounds)\n", "host route, same handler", hostRate);
    std::printf("%-36s %+8.1f %%  (failed requests: %ld)\n", "plugin dispatch overhead",
                100.0 * (hostRate - pluginRate) / hostRate, failed);

    // Reloads under load: the time each takes, and what the clients see meanwhile.
    std::printf("reload: %d reloads of the plugin while %d clients call it\n", reloads, clients);
    Load load;
    std::vector<double> reloadMs;
    std::vector<std::pair<double, double>> windows; // seconds since the load began
    const double loadSeconds = 1.0 + reloads * 0.25;
    const auto began = Clock::now();
    std::thread clientsThread([&] { hammer(server.port(), "/counter/build", clients, loadSeconds, load); });
    std::this_thread::sleep_for(std::chrono::milliseconds(500)); // the load under way
    for (int k = 0; k < reloads; ++k)
    {
        const auto t0 = Clock::now();
        const bool ok = server.plugins().reload("counter");
        const auto t1 = Clock::now();
        if (!ok)
            std::printf("reload %d failed\n", k);
        reloadMs.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        windows.emplace_back(std::chrono::duration<double>(t0 - began).count(),
                             std::chrono::duration<double>(t1 - began).count());
        std::this_thread::sleep_for(std::chrono::milliseconds(200)); // reloads spaced through the run
    }
    clientsThread.join();
    std::vector<double> during, outside;
    for (const auto& [at, ms] : load.samples)
    {
        const bool inside = std::any_of(windows.begin(), windows.end(), [&](const auto& w) {
            return at + ms / 1000 >= w.first && at <= w.second;
        });
        (inside ? during : outside).push_back(ms);
    }
    std::printf("%-36s p50 %6.2f ms   max %6.2f ms\n", "reload (load, start, swap)", percentile(reloadMs, 0.5),
                percentile(reloadMs, 1.0));
    std::printf("%-36s p50 %6.2f ms   p99 %6.2f ms   (%zu requests)\n", "requests overlapping a reload",
                percentile(during, 0.5), percentile(during, 0.99), during.size());
    std::printf("%-36s p50 %6.2f ms   p99 %6.2f ms   (%zu requests)\n", "requests between reloads",
                percentile(outside, 0.5), percentile(outside, 0.99), outside.size());
    std::printf("%-36s %ld ok, %ld failed; generation now %u\n", "requests during the reload run", load.ok.load(),
                load.failed.load(), server.plugins().status().front().generation);
    server.stop();
    Poco::File(folder).remove(true);
    return load.failed == 0 && failed == 0 ? 0 : 1;
}

// Throughput and latency of POST /auth/v1/user/reauthenticate and of POST /auth/v1/user/sudo with a
// code, against a real host (in this process, SQLite in a temporary folder, the real plugin library),
// over loopback HTTP with keep-alive connections.
//
//   identity-bench [--clients=N] [--seconds=S] [--users=U]
#include "app/IdentityServer.h"
#include "support/SystemClock.h"

#include <Poco/File.h>
#include <Poco/JSON/Parser.h>
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
#include <thread>
#include <vector>

using namespace identity;
using Clock = std::chrono::steady_clock;

namespace
{
struct Result
{
    std::vector<double> latenciesMs;
    long ok = 0;
    long failed = 0;
};

int post(Poco::Net::HTTPClientSession& session, const std::string& path, const std::string& body,
         const std::string& token, std::string& answer)
{
    Poco::Net::HTTPRequest request("POST", path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentType("application/json");
    request.setContentLength64(static_cast<Poco::Int64>(body.size()));
    request.setKeepAlive(true);
    if (!token.empty())
        request.set("Authorization", "Bearer " + token);
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    answer.clear();
    Poco::StreamCopier::copyToString(session.receiveResponse(response), answer);
    return response.getStatus();
}

std::string field(const std::string& json, const std::string& key)
{
    Poco::JSON::Parser parser;
    return parser.parse(json).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>(key);
}

void report(const char* name, Result& all, double seconds, int clients)
{
    std::sort(all.latenciesMs.begin(), all.latenciesMs.end());
    auto percentile = [&](double p) {
        return all.latenciesMs.empty() ? 0.0 : all.latenciesMs[static_cast<std::size_t>(p * (all.latenciesMs.size() - 1))];
    };
    std::printf("%-28s clients=%-3d requests=%-7ld failed=%-4ld %9.0f req/s   p50 %6.2f ms   p99 %6.2f ms\n", name,
                clients, all.ok, all.failed, all.ok / seconds, percentile(0.50), percentile(0.99));
}
} // namespace

int main(int argc, char** argv)
{
    int clients = 8, users = 16;
    double seconds = 5;
    for (int i = 1; i < argc; ++i)
    {
        if (std::strncmp(argv[i], "--clients=", 10) == 0)
            clients = std::atoi(argv[i] + 10);
        else if (std::strncmp(argv[i], "--seconds=", 10) == 0)
            seconds = std::atof(argv[i] + 10);
        else if (std::strncmp(argv[i], "--users=", 8) == 0)
            users = std::atoi(argv[i] + 8);
    }
    users = std::max(users, clients);
    Poco::Logger::root().setChannel(new Poco::NullChannel);

    const std::string folder = Poco::TemporaryFile::tempName();
    Poco::File(folder).createDirectories();
    Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
    const std::string plugin = "plugins.reauthenticate.config.";
    for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
             {"server.port", "0"},
             {"server.threads", "64"},
             {"storage.url", "sqlite:" + folder + "/identity.db"},
             {"secrets.file", folder + "/secrets.json"},
             {"secrets.generate", "true"},
             {"plugins.reauthenticate.manifest", std::string(IDENTITY_PLUGIN_DIR) + "/reauthenticate/plugin.json"},
             {plugin + "email.notifier", "maildir"},
             {plugin + "email.maildir.path", folder + "/mail"},
             {plugin + "sms.notifier", "log"},
             {plugin + "sms.log.path", folder + "/sms.log"},
             {plugin + "limits.cooldown_seconds", "0"},
             {plugin + "limits.per_user_per_hour", "0"},
             {plugin + "limits.per_ip_per_hour", "0"},
             {plugin + "limits.per_destination_per_hour", "0"},
             {plugin + "limits.sms_per_minute", "0"}})
        config->setString(key, value);

    host::SystemClock clock;
    host::IdentityServer server(*config, clock);
    server.start();
    std::printf("setting up %d users (PBKDF2: about 0.3 s each)…\n", users);
    std::vector<std::string> tokens;
    Poco::Net::HTTPClientSession setup("127.0.0.1", server.port());
    for (int u = 0; u < users; ++u)
    {
        host::User user;
        user.username = "bench" + std::to_string(u);
        user.phoneNumber = "+861380013" + std::to_string(1000 + u);
        server.createUser(user, "Bench-Password-1");
        std::string answer;
        post(setup, "/auth/v1/signin", "{\"username\":\"" + user.username + "\",\"password\":\"Bench-Password-1\"}", "",
             answer);
        tokens.push_back(field(answer, "access_token"));
    }

    auto run = [&](const char* name, const std::function<int(Poco::Net::HTTPClientSession&, int, std::string&)>& call) {
        std::vector<Result> results(clients);
        std::vector<std::thread> threads;
        const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
        const auto started = Clock::now();
        for (int c = 0; c < clients; ++c)
            threads.emplace_back([&, c] {
                Poco::Net::HTTPClientSession session("127.0.0.1", server.port());
                std::string answer;
                while (Clock::now() < deadline)
                {
                    const auto t0 = Clock::now();
                    const int status = call(session, c, answer);
                    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
                    results[c].latenciesMs.push_back(ms);
                    status == 200 ? ++results[c].ok : ++results[c].failed;
                }
            });
        for (auto& thread : threads)
            thread.join();
        const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
        Result all;
        for (auto& r : results)
        {
            all.ok += r.ok;
            all.failed += r.failed;
            all.latenciesMs.insert(all.latenciesMs.end(), r.latenciesMs.begin(), r.latenciesMs.end());
        }
        report(name, all, elapsed, clients);
    };

    run("reauthenticate phone_code", [&](Poco::Net::HTTPClientSession& session, int c, std::string& answer) {
        return post(session, "/auth/v1/user/reauthenticate", "{\"verify_opt\":\"phone_code\"}", tokens[c], answer);
    });
    server.stop();
    Poco::File(folder).remove(true);
    return 0;
}

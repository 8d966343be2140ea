// Throughput and latency of POST /auth/v1/user/reauthenticate (email_code over maildir, phone_code over
// the SMS log, limits off) next to GET /healthz in the same run, against real hosts in this process (the
// real plugin library), over loopback HTTP with keep-alive connections, the clients spread round robin
// over the instances.
//
//   identity-bench [--clients=N] [--seconds=S] [--users=U] [--storage=URL] [--instances=I]
//
// --storage defaults to SQLite in a temporary folder; with a postgresql:// URL (scripts/bench-postgres
// starts a temporary PostgreSQL and runs this with one instance and with two), --instances hosts share it.
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
#include <ctime>
#include <memory>
#include <thread>

#include <pthread.h>
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

int get(Poco::Net::HTTPClientSession& session, const std::string& path, std::string& answer)
{
    Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setKeepAlive(true);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    answer.clear();
    Poco::StreamCopier::copyToString(session.receiveResponse(response), answer);
    return response.getStatus();
}

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
    int clients = 8, users = 16, instances = 1;
    double seconds = 5;
    std::string storage;
    for (int i = 1; i < argc; ++i)
    {
        if (std::strncmp(argv[i], "--clients=", 10) == 0)
            clients = std::atoi(argv[i] + 10);
        else if (std::strncmp(argv[i], "--seconds=", 10) == 0)
            seconds = std::atof(argv[i] + 10);
        else if (std::strncmp(argv[i], "--users=", 8) == 0)
            users = std::atoi(argv[i] + 8);
        else if (std::strncmp(argv[i], "--storage=", 10) == 0)
            storage = argv[i] + 10;
        else if (std::strncmp(argv[i], "--instances=", 12) == 0)
            instances = std::max(1, std::atoi(argv[i] + 12));
    }
    if (instances > 1 && storage.rfind("postgres", 0) != 0)
    {
        std::fprintf(stderr, "--instances above 1 needs --storage=postgresql://...\n");
        return 2;
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
             {"storage.url", storage.empty() ? "sqlite:" + folder + "/identity.db" : storage},
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
    // One after the other: the first generates the secrets file the others read.
    std::vector<std::unique_ptr<host::IdentityServer>> servers;
    for (int i = 0; i < instances; ++i)
    {
        servers.push_back(std::make_unique<host::IdentityServer>(*config, clock));
        servers.back()->start();
    }
    host::IdentityServer& server = *servers.front();
    std::printf("storage: %s, %d instance(s); setting up %d users (PBKDF2: about 0.3 s each)…\n",
                server.database().displayUrl().c_str(), instances, users);
    std::vector<std::string> tokens;
    Poco::Net::HTTPClientSession setup("127.0.0.1", server.port());
    setup.setKeepAlive(true);
    const std::string stamp = std::to_string(std::time(nullptr)); // names of their own on a reused database
    for (int u = 0; u < users; ++u)
    {
        host::User user;
        user.username = "bench" + stamp + "-" + std::to_string(u);
        user.email = user.username + "@example.com";
        user.phoneNumber = "+86138" + stamp.substr(stamp.size() - 4) + std::to_string(10000 + u);
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
                pthread_setname_np(pthread_self(), "bench-client");
                Poco::Net::HTTPClientSession session("127.0.0.1", servers[c % servers.size()]->port());
                session.setKeepAlive(true); // without it Poco's client opens a new connection for every request
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

    run("GET /healthz", [&](Poco::Net::HTTPClientSession& session, int, std::string& answer) {
        return get(session, "/healthz", answer);
    });
    run("reauthenticate email_code", [&](Poco::Net::HTTPClientSession& session, int c, std::string& answer) {
        return post(session, "/auth/v1/user/reauthenticate", "{\"verify_opt\":\"email_code\"}", tokens[c], answer);
    });
    run("reauthenticate phone_code", [&](Poco::Net::HTTPClientSession& session, int c, std::string& answer) {
        return post(session, "/auth/v1/user/reauthenticate", "{\"verify_opt\":\"phone_code\"}", tokens[c], answer);
    });
    for (auto& instance : servers)
        instance->stop();
    servers.clear();
    Poco::File(folder).remove(true);
    return 0;
}

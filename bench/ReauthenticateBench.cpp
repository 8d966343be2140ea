// Throughput, latency and CPU cost of the write path against real hosts in this process (the real
// plugin library), over loopback HTTP with keep-alive connections, the clients spread round robin over
// the instances, every send limit off. In one run, on the same host(s):
//
//   GET /healthz                       the floor: routing, a database ping, the JSON answer
//   reauthenticate email_code          the maildir notifier (the configuration a newcomer runs)
//   reauthenticate phone_code          the log notifier
//   ... at half load                   email_code paced at half the rate just measured (open loop,
//                                      latency from each request's scheduled start)
//   sudo with a code                   each client asks for an SMS code, waits for the delivery worker
//                                      to write it to the SMS log, and exchanges it for a sudo token;
//                                      the latency is the sudo request's alone
//   refresh                            each client rotates its own refresh token
//   sign-in                            PBKDF2 (600,000 rounds) per request
//
//   identity-bench [--clients=N] [--seconds=S] [--users=U] [--storage=URL] [--instances=I]
//
// Besides requests/s and latency it prints the process's CPU time per request (server and clients
// together: user + system, getrusage), which moves far less than requests/s on a shared machine.
// --storage defaults to SQLite in a temporary folder; with a postgresql:// URL (scripts/bench-postgres
// starts a temporary PostgreSQL and runs this with one instance and with two), --instances hosts share it.
#include "app/IdentityServer.h"
#include "support/SystemClock.h"

#include <Poco/DirectoryIterator.h>
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
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

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

struct Summary
{
    double rate = 0;
    double p50 = 0;
    double p99 = 0;
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

/// CPU seconds of this process's threads so far, by thread name (the writer, the checkpointer and the
/// delivery worker name themselves; the request threads are "identity-bench").
std::map<std::string, double> cpuByThread()
{
    std::map<std::string, double> seconds;
    const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
    for (Poco::DirectoryIterator it(std::string("/proc/self/task")), end; it != end; ++it)
    {
        std::ifstream comm(it->path() + "/comm"), stat(it->path() + "/stat");
        std::string name, line;
        std::getline(comm, name);
        std::getline(stat, line);
        // Fields 14 and 15 (utime, stime), counted after the ")" that ends the name.
        std::istringstream fields(line.substr(line.rfind(')') + 2));
        std::string field;
        double ticks = 0;
        for (int i = 3; i <= 15 && fields >> field; ++i)
            if (i >= 14)
                ticks += std::atof(field.c_str());
        seconds[name] += ticks / tick;
    }
    return seconds;
}

/// Where one phase's CPU (`total` seconds) went, per request: "writer 120 us, ...".
std::string cpuSplit(const std::map<std::string, double>& before, const std::map<std::string, double>& after,
                     double total, long requests)
{
    static const std::map<std::string, std::string> names{{"identity-bench", "request threads"},
                                                          {"bench-client", "clients"},
                                                          {"sqlite-writer", "writer"},
                                                          {"sqlite-ckpt", "checkpoints"},
                                                          {"reauth-delivery", "delivery"}};
    std::map<std::string, double> spent;
    for (const auto& [thread, seconds] : after)
    {
        const auto was = before.find(thread);
        const auto name = names.find(thread);
        spent[name == names.end() ? "other" : name->second] += seconds - (was == before.end() ? 0 : was->second);
    }
    // Threads that ended (the clients, joined before this is read) left their time to the process only.
    double named = 0;
    for (const auto& [name, seconds] : spent)
        named += seconds;
    spent["clients"] += std::max(0.0, total - named);
    std::string text;
    for (const char* name : {"request threads", "writer", "delivery", "checkpoints", "clients", "other"})
        if (requests > 0 && spent[name] > 0)
            text += (text.empty() ? "" : ", ") + std::string(name) + " " +
                    std::to_string(static_cast<long>(spent[name] / static_cast<double>(requests) * 1e6)) + " us";
    return text;
}

double cpuSeconds()
{
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

Summary report(const char* name, Result& all, double seconds, int clients, double cpu, const std::string& split)
{
    std::sort(all.latenciesMs.begin(), all.latenciesMs.end());
    auto percentile = [&](double p) {
        return all.latenciesMs.empty() ? 0.0 : all.latenciesMs[static_cast<std::size_t>(p * (all.latenciesMs.size() - 1))];
    };
    const long requests = all.ok + all.failed;
    Summary summary{all.ok / seconds, percentile(0.50), percentile(0.99)};
    std::printf("%-36s clients=%-3d requests=%-7ld failed=%-4ld %9.0f req/s   p50 %6.2f ms   p99 %6.2f ms   "
                "cpu %6.0f us/req\n",
                name, clients, all.ok, all.failed, summary.rate, summary.p50, summary.p99,
                requests ? cpu / static_cast<double>(requests) * 1e6 : 0.0);
    std::printf("  cpu per request: %s\n", split.c_str());
    std::fflush(stdout);
    return summary;
}

/// The codes the `log` SMS notifier writes, by phone number: one thread follows the file.
class SmsCodes
{
public:
    /// Codes sent from now on: what the file already holds is skipped.
    explicit SmsCodes(std::string path) : _path(std::move(path)), _in(_path)
    {
        _in.seekg(0, std::ios::end);
        _thread = std::thread([this] { follow(); });
    }
    ~SmsCodes()
    {
        _stopping = true;
        _thread.join();
    }

    /// How many codes went to `to` so far.
    long count(const std::string& to)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _codes[to].first;
    }

    /// The code after the `seen`-th that went to `to`; empty after 10 s.
    std::string next(const std::string& to, long seen)
    {
        std::unique_lock<std::mutex> lock(_mutex);
        _arrived.wait_for(lock, std::chrono::seconds(10), [&] { return _codes[to].first > seen; });
        return _codes[to].first > seen ? _codes[to].second : std::string();
    }

private:
    void follow()
    {
        std::ifstream& in = _in;
        std::string pending;
        while (!_stopping)
        {
            std::string line;
            bool any = false;
            while (std::getline(in, line))
            {
                if (in.eof()) // a line still being written: keep it for the next round
                {
                    pending += line;
                    break;
                }
                line = pending + line;
                pending.clear();
                any = true;
                const auto to = line.find("\"to\":\"");
                const auto code = line.find("code is ");
                if (to == std::string::npos || code == std::string::npos)
                    continue;
                const std::string phone = line.substr(to + 6, line.find('"', to + 6) - to - 6);
                std::lock_guard<std::mutex> lock(_mutex);
                auto& entry = _codes[phone];
                ++entry.first;
                entry.second = line.substr(code + 8, 6);
            }
            in.clear();
            if (any)
                _arrived.notify_all();
            else
                std::this_thread::sleep_for(std::chrono::microseconds(500)); // a benchmark, not a test
        }
    }

    std::string _path;
    std::ifstream _in;
    std::mutex _mutex;
    std::condition_variable _arrived;
    std::map<std::string, std::pair<long, std::string>> _codes;
    std::atomic<bool> _stopping{false};
    std::thread _thread;
};
} // namespace

int main(int argc, char** argv)
{
    int clients = 32, users = 16, instances = 1;
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
        else
        {
            std::fprintf(stderr, "usage: identity-bench [--clients=N] [--seconds=S] [--users=U] [--storage=URL] "
                                 "[--instances=I]\n");
            return 2;
        }
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
             {plugin + "delivery.poll_ms", "10"}, // the sudo phase waits for each code's delivery
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
    std::vector<std::string> tokens, refreshTokens, phones;
    Poco::Net::HTTPClientSession setup("127.0.0.1", server.port());
    setup.setKeepAlive(true);
    const std::string stamp = std::to_string(std::time(nullptr)); // names of their own on a reused database
    const std::string password = "Bench-Password-1";
    std::vector<std::string> names;
    for (int u = 0; u < users; ++u)
    {
        host::User user;
        user.username = "bench" + stamp + "-" + std::to_string(u);
        user.email = user.username + "@example.com";
        user.phoneNumber = "+86138" + stamp.substr(stamp.size() - 4) + std::to_string(10000 + u);
        server.createUser(user, password);
        std::string answer;
        post(setup, "/auth/v1/signin", "{\"username\":\"" + user.username + "\",\"password\":\"" + password + "\"}", "",
             answer);
        tokens.push_back(field(answer, "access_token"));
        refreshTokens.push_back(field(answer, "refresh_token"));
        phones.push_back(user.phoneNumber);
        names.push_back(user.username);
    }

    using Call = std::function<int(Poco::Net::HTTPClientSession&, int, std::string&, double&)>;
    // Runs `loop(session, client, result)` on `threads` clients at once, each with a keep-alive session
    // of its own, and reports the phase.
    using Loop = std::function<void(Poco::Net::HTTPClientSession&, int, Result&)>;
    auto phase = [&](const char* name, int threads, const Loop& loop) {
        std::vector<Result> results(threads);
        std::vector<std::thread> workers;
        const auto threadsBefore = cpuByThread();
        const double cpuBefore = cpuSeconds();
        const auto started = Clock::now();
        for (int c = 0; c < threads; ++c)
            workers.emplace_back([&, c] {
                pthread_setname_np(pthread_self(), "bench-client");
                Poco::Net::HTTPClientSession session("127.0.0.1", servers[c % servers.size()]->port());
                session.setKeepAlive(true); // without it Poco's client opens a new connection for every request
                loop(session, c, results[c]);
            });
        for (auto& worker : workers)
            worker.join();
        const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
        Result all;
        for (auto& r : results)
        {
            all.ok += r.ok;
            all.failed += r.failed;
            all.latenciesMs.insert(all.latenciesMs.end(), r.latenciesMs.begin(), r.latenciesMs.end());
        }
        const double cpu = cpuSeconds() - cpuBefore;
        return report(name, all, elapsed, threads, cpu, cpuSplit(threadsBefore, cpuByThread(), cpu, all.ok + all.failed));
    };
    // Closed loop: each client sends its next request when the last one is answered. A call may time
    // only part of what it does (it sets `ms`); by default the whole call is timed.
    auto run = [&](const char* name, int threads, double duration, const Call& call) {
        const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration));
        return phase(name, threads, [&](Poco::Net::HTTPClientSession& session, int c, Result& result) {
            std::string answer;
            while (Clock::now() < deadline)
            {
                const auto t0 = Clock::now();
                double ms = -1;
                const int status = call(session, c, answer, ms);
                if (ms < 0)
                    ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
                result.latenciesMs.push_back(ms);
                status == 200 ? ++result.ok : ++result.failed;
            }
        });
    };
    // Open loop at `rate` requests/s over all clients: each request has a scheduled start, and its
    // latency counts from then, so a stall is not hidden by the requests it delayed.
    auto paced = [&](const char* name, double rate, double duration, const Call& call) {
        const auto started = Clock::now();
        const auto deadline = started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration));
        const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(clients / rate));
        return phase(name, clients, [&](Poco::Net::HTTPClientSession& session, int c, Result& result) {
            std::string answer;
            // Clients spread over the interval, not all at its start.
            auto next = started + interval * c / clients;
            while (next < deadline)
            {
                std::this_thread::sleep_until(next);
                double ms = -1;
                const int status = call(session, c, answer, ms);
                result.latenciesMs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - next).count());
                status == 200 ? ++result.ok : ++result.failed;
                next += interval;
            }
        });
    };

    // Waits until the delivery workers have sent or dropped every queued message, and says how long
    // that took: a worker that cannot keep up shows here, not in the requests/s.
    auto drain = [&] {
        const auto started = Clock::now();
        Poco::Int64 unsent = 1;
        while (unsent > 0 && Clock::now() - started < std::chrono::seconds(120))
        {
            server.database().read([&](sdk::Transaction& transaction) {
                unsent = transaction.execute("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')")
                             .front()
                             .integer(0);
            });
            if (unsent > 0)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        Poco::Int64 delivered = 0, cancelled = 0;
        server.database().read([&](sdk::Transaction& transaction) {
            delivered = transaction.execute("SELECT COUNT(*) FROM outbox WHERE status = 'delivered'").front().integer(0);
            cancelled = transaction.execute("SELECT COUNT(*) FROM outbox WHERE status = 'cancelled'").front().integer(0);
        });
        std::printf("  outbox drained %.2f s after the phase (so far: %lld delivered, %lld cancelled as their code was "
                    "replaced, %lld unsent)\n",
                    std::chrono::duration<double>(Clock::now() - started).count(), static_cast<long long>(delivered),
                    static_cast<long long>(cancelled), static_cast<long long>(unsent));
    };

    const Summary healthz = run("GET /healthz", clients, seconds, [&](auto& session, int, std::string& answer, double&) {
        return get(session, "/healthz", answer);
    });
    const Call email = [&](Poco::Net::HTTPClientSession& session, int c, std::string& answer, double&) {
        return post(session, "/auth/v1/user/reauthenticate", "{\"verify_opt\":\"email_code\"}", tokens[c], answer);
    };
    const Summary peak = run("reauthenticate email_code", clients, seconds, email);
    drain();
    run("reauthenticate phone_code", clients, seconds, [&](auto& session, int c, std::string& answer, double&) {
        return post(session, "/auth/v1/user/reauthenticate", "{\"verify_opt\":\"phone_code\"}", tokens[c], answer);
    });
    drain();
    const Summary half = paced("email_code at half that rate", peak.rate / 2, seconds, email);
    drain();
    std::printf("  email_code: %.2f x /healthz; at half load p99 = %.1f x p50\n", peak.rate / healthz.rate,
                half.p50 > 0 ? half.p99 / half.p50 : 0.0);

    {
        SmsCodes codes(folder + "/sms.log");
        run("sudo with a code (send, deliver, sudo)", clients, seconds,
            [&](Poco::Net::HTTPClientSession& session, int c, std::string& answer, double& ms) {
                const long seen = codes.count(phones[c]);
                if (post(session, "/auth/v1/user/reauthenticate", "{\"verify_opt\":\"phone_code\"}", tokens[c],
                         answer) != 200)
                    return 0;
                const std::string code = codes.next(phones[c], seen);
                if (code.empty())
                    return 0;
                const auto t0 = Clock::now();
                const int status = post(session, "/auth/v1/user/sudo", "{\"verification_code\":\"" + code + "\"}",
                                        tokens[c], answer);
                ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
                return status;
            });
    }
    run("refresh", clients, seconds, [&](Poco::Net::HTTPClientSession& session, int c, std::string& answer, double&) {
        const int status =
            post(session, "/auth/v1/token",
                 "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"" + refreshTokens[c] + "\"}", "", answer);
        if (status == 200)
            refreshTokens[c] = field(answer, "refresh_token");
        return status;
    });
    run("sign-in (PBKDF2)", clients, seconds, [&](Poco::Net::HTTPClientSession& session, int c, std::string& answer, double&) {
        return post(session, "/auth/v1/signin",
                    "{\"username\":\"" + names[c] + "\",\"password\":\"" + password + "\"}", "", answer);
    });

    const auto statistics = server.database().writeStatistics();
    std::printf("writes: %zu units of work in %zu commits (%.1f per commit)\n", statistics.units, statistics.commits,
                statistics.commits ? double(statistics.units) / double(statistics.commits) : 0.0);
    for (auto& instance : servers)
        instance->stop();
    servers.clear();
    Poco::File(folder).remove(true);
    return 0;
}

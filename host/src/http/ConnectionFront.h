#pragma once

#include "http/HttpMessage.h"
#include "http/HttpRequestParser.h"

#include "identity/sdk/ApiError.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/ServerSocket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

typedef struct ssl_st SSL;

namespace identity::host
{

struct FrontSettings
{
    int threads = 32;                       ///< workers running requests
    std::size_t maxQueued = 256;            ///< complete requests waiting for a worker; beyond, 503
    std::chrono::milliseconds requestTimeout{10000};   ///< a whole head and body, from its first byte
    std::chrono::milliseconds keepAliveTimeout{10000}; ///< idle between requests (and before the first)
    std::chrono::milliseconds writeTimeout{10000};     ///< for the client to take a response
    std::size_t maxConnections = 4096;
    std::size_t connectionsPerAddress = 128;
    std::set<std::string> uncappedAddresses; ///< reverse proxies: many clients behind one address
    /// What the per-address cap counts by (an IPv6 peer by its /64, say); the peer itself when empty.
    std::function<std::string(const std::string& peer)> addressKey;
    HttpRequestParser::Limits limits;
};

/// Counts the front keeps, for /metrics.
struct FrontCounters
{
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> refusedPerAddress{0}; ///< over connections_per_address
    std::atomic<std::uint64_t> refusedTotal{0};      ///< over max_connections
    std::atomic<std::uint64_t> refusedBusy{0};       ///< 503: every worker busy and the queue full
    std::atomic<std::uint64_t> timedOut{0};          ///< 408: a head or body not in within the deadline
    std::atomic<std::int64_t> open{0};
    std::atomic<std::int64_t> inFlight{0};           ///< requests queued or running
};

/// The connection front: one event thread (epoll) accepts connections, reads request heads and bodies
/// and writes responses, so that no worker thread is taken before a whole request has arrived and none
/// waits on a slow reader. Each connection has a deadline for the request it is reading (head and
/// body together), for idling between requests and for taking its response; connections per client
/// address and in all are capped. Complete requests go to a bounded queue of worker threads, which run
/// the handler; a request that finds the queue full is answered 503 with Retry-After at once. TLS
/// (OpenSSL, non-blocking) is done on the event thread too, the handshake under the request deadline.
class ConnectionFront
{
public:
    /// Runs on a worker: the request's response. Must not throw.
    using Handler = std::function<HttpResponse(HttpRequest&)>;
    /// Runs on the event thread, for requests the front answers itself (400/431 for a head that cannot
    /// be read, 408, 429 for too many connections, 503 when the queue is full): the error's envelope.
    /// Must not throw.
    using Refusal = std::function<HttpResponse(const std::string& peer, const sdk::ApiError& error)>;

    /// Takes the bound, listening socket. `tls` null: plain HTTP. `settings.maxConnections` is lowered to
    /// what the descriptor limit allows (with a warning).
    ConnectionFront(Poco::Net::ServerSocket socket, Poco::Net::Context::Ptr tls, FrontSettings settings,
                    Handler handler, Refusal refusal);
    ~ConnectionFront();

    ConnectionFront(const ConnectionFront&) = delete;
    ConnectionFront& operator=(const ConnectionFront&) = delete;

    void start();

    /// SIGTERM: closes the listening socket at once (new connections are refused), closes idle
    /// connections, lets requests being read, run or written finish for at most `grace`, then closes
    /// what is left and stops the workers after their current request. Returns the connections closed
    /// unfinished.
    std::size_t stop(std::chrono::milliseconds grace);

    Poco::UInt16 port() const { return _port; }
    const FrontCounters& counters() const { return _counters; }
    /// True once stop() began: responses say `Connection: close`.
    bool draining() const { return _draining.load(); }

private:
    struct Connection;
    struct Job
    {
        std::uint64_t id;
        HttpRequest request;
    };
    struct Done
    {
        std::uint64_t id;
        std::string bytes;
        bool close;
    };

    void eventLoop();
    void workerLoop();
    void wake();
    /// Accepts what is waiting; false when the process is out of descriptors.
    bool acceptAll();
    void refuse(int fd, const std::string& peer, const sdk::ApiError& error);
    /// At max_connections: closes the connection idle the longest to make room; false when none is idle.
    bool evictIdle();
    void onEvent(Connection& connection, std::uint32_t events);
    void readFrom(Connection& connection);
    void parse(Connection& connection);
    void dispatch(Connection& connection);
    void respond(Connection& connection, const HttpResponse& response, bool headOnly);
    void finished(const Done& done);
    void writeTo(Connection& connection);
    void afterWrite(Connection& connection);
    void startIdle(Connection& connection);
    void linger(Connection& connection);
    void close(Connection& connection);
    void watch(Connection& connection, std::uint32_t events);
    void sweep(std::chrono::steady_clock::time_point now);
    bool handshake(Connection& connection);
    /// recv or SSL_read: bytes read, 0 at the end of the stream, -1 when it would block, -2 on error.
    long receive(Connection& connection, char* data, std::size_t size);
    long transmit(Connection& connection, const char* data, std::size_t size);

    Poco::Net::ServerSocket _socket;
    Poco::Net::Context::Ptr _tls;
    FrontSettings _settings;
    Handler _handler;
    Refusal _refusal;
    Poco::UInt16 _port = 0;

    int _epoll = -1;
    int _wakeFd = -1;
    int _listenFd = -1;
    std::thread _events;
    std::vector<std::thread> _workers;

    // The event thread's own; no lock.
    std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> _connections;
    std::unordered_map<std::string, std::size_t> _perAddress;
    std::uint64_t _nextId = 1;
    std::vector<std::uint64_t> _ready; ///< connections with a buffered request to parse next round
    std::chrono::steady_clock::time_point _lastStarvedLog{};

    // Shared with the workers.
    std::mutex _jobsMutex;
    std::condition_variable _jobsReady;
    std::deque<Job> _jobs;
    bool _workersStop = false;
    std::mutex _doneMutex;
    std::vector<Done> _done;

    // Shared with stop().
    std::atomic<bool> _draining{false};
    std::atomic<bool> _stopNow{false};
    std::mutex _stateMutex;
    std::condition_variable _stateChanged;
    bool _quiet = false; ///< draining and no connection left
    bool _loopEnded = false;
    std::size_t _abandoned = 0;

    FrontCounters _counters;
};

} // namespace identity::host

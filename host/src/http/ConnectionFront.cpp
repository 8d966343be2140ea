#include "http/ConnectionFront.h"

#include <Poco/Logger.h>
#include <Poco/Net/SocketAddress.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace identity::host
{

namespace
{
constexpr std::uint64_t listenerKey = 0;
constexpr std::uint64_t wakeKey = 1;
constexpr std::size_t readChunk = 16384;
/// After a response that ends the connection, what the client still sends is read and dropped for
/// this long (and up to this much), so that it reads the response instead of a reset.
constexpr std::chrono::milliseconds lingerTime{2000};
constexpr std::size_t lingerBytes = 1 << 20;
/// While draining, how long an idle keep-alive connection is kept for a request already on its way.
constexpr std::chrono::milliseconds drainIdleGrace{1000};

using Clock = std::chrono::steady_clock;

double monotonicMs()
{
    return std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
}

/// Connections are file descriptors: take what the hard limit allows (the soft default is often 1,024).
void raiseDescriptorLimit(std::size_t wanted)
{
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= wanted)
        return;
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, wanted);
    setrlimit(RLIMIT_NOFILE, &limit);
}
} // namespace

struct ConnectionFront::Connection
{
    enum class Phase
    {
        Handshaking, ///< TLS: the handshake is under way (under the request deadline)
        Idle,      ///< between requests (or before the first): no byte of a request yet
        Reading,   ///< a request's head or body is arriving
        Running,   ///< a whole request is with a worker; nothing is read meanwhile
        Writing,   ///< the response is going out
        Lingering  ///< the response that ended it is out; what still arrives is dropped
    };

    Connection(std::uint64_t id, int fd, std::string peer, const HttpRequestParser::Limits& limits)
        : id(id), fd(fd), peer(std::move(peer)), parser(limits)
    {
    }

    std::uint64_t id;
    int fd;
    std::string peer;
    std::string key; ///< what the per-address cap counts it by
    SSL* ssl = nullptr;
    bool handshaken = false;
    bool capped = true; ///< counted against its address
    Phase phase = Phase::Idle;
    HttpRequestParser parser;
    double arrivedMs = 0;
    bool headOnly = false;
    std::string out;
    std::size_t outAt = 0;
    bool closeAfter = false;
    std::size_t lingered = 0;
    Clock::time_point deadline;
    std::uint32_t events = EPOLLIN;
    bool closed = false;
};

ConnectionFront::ConnectionFront(Poco::Net::ServerSocket socket, Poco::Net::Context::Ptr tls, FrontSettings settings,
                                 Handler handler, Refusal refusal)
    : _socket(std::move(socket)), _tls(std::move(tls)), _settings(std::move(settings)), _handler(std::move(handler)),
      _refusal(std::move(refusal))
{
    _port = _socket.address().port();
    _listenFd = _socket.impl()->sockfd();
    ::fcntl(_listenFd, F_SETFL, ::fcntl(_listenFd, F_GETFL) | O_NONBLOCK);
    // A client that goes away mid-write must not kill the process (OpenSSL writes with write(2)).
    std::signal(SIGPIPE, SIG_IGN);
    raiseDescriptorLimit(_settings.maxConnections + 256);
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
        _settings.maxConnections + 256 > limit.rlim_cur)
    {
        // Beyond the descriptor limit accept() would fail and clients wait in the backlog unanswered: cap
        // below it, keeping 256 for the database, the logs, plugins and the refusals' own descriptors.
        const std::size_t fitting = limit.rlim_cur > 512 ? limit.rlim_cur - 256 : limit.rlim_cur / 2;
        Poco::Logger::get("identity.host")
            .warning("server.max_connections %z is more than the open-file limit (%z) allows: %z it is",
                     _settings.maxConnections, static_cast<std::size_t>(limit.rlim_cur), fitting);
        _settings.maxConnections = fitting;
    }
    _epoll = ::epoll_create1(EPOLL_CLOEXEC);
    _wakeFd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (_epoll < 0 || _wakeFd < 0)
        throw Poco::IOException(std::string("cannot set up the connection front: ") + std::strerror(errno));
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = listenerKey;
    ::epoll_ctl(_epoll, EPOLL_CTL_ADD, _listenFd, &event);
    event.data.u64 = wakeKey;
    ::epoll_ctl(_epoll, EPOLL_CTL_ADD, _wakeFd, &event);
}

ConnectionFront::~ConnectionFront()
{
    if (_events.joinable())
        stop(std::chrono::milliseconds(0));
    for (auto& [id, connection] : _connections)
        if (!connection->closed)
        {
            if (connection->ssl)
                SSL_free(connection->ssl);
            ::close(connection->fd);
        }
    if (_wakeFd >= 0)
        ::close(_wakeFd);
    if (_epoll >= 0)
        ::close(_epoll);
}

void ConnectionFront::start()
{
    _workers.reserve(static_cast<std::size_t>(_settings.threads));
    for (int i = 0; i < _settings.threads; ++i)
        _workers.emplace_back([this] {
            pthread_setname_np(pthread_self(), "identity-worker");
            workerLoop();
        });
    _events = std::thread([this] {
        pthread_setname_np(pthread_self(), "identity-front");
        eventLoop();
    });
}

std::size_t ConnectionFront::stop(std::chrono::milliseconds grace)
{
    _draining = true;
    wake();
    {
        std::unique_lock<std::mutex> lock(_stateMutex);
        _stateChanged.wait_for(lock, grace, [this] { return _quiet || _loopEnded; });
    }
    _stopNow = true;
    wake();
    if (_events.joinable())
        _events.join();
    {
        std::lock_guard<std::mutex> lock(_jobsMutex);
        _workersStop = true;
        _jobs.clear(); // queued, never started: their connections are closed
    }
    _jobsReady.notify_all();
    for (auto& worker : _workers)
        worker.join();
    _workers.clear();
    return _abandoned;
}

void ConnectionFront::wake()
{
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(_wakeFd, &one, sizeof one);
}

void ConnectionFront::workerLoop()
{
    for (;;)
    {
        Job job;
        {
            std::unique_lock<std::mutex> lock(_jobsMutex);
            _jobsReady.wait(lock, [this] { return _workersStop || !_jobs.empty(); });
            if (_workersStop)
                return;
            job = std::move(_jobs.front());
            _jobs.pop_front();
        }
        const bool headOnly = job.request.head.method == "HEAD";
        const bool http10 = job.request.head.minorVersion == 0;
        const bool keepAlive = job.request.keepAlive;
        HttpResponse response = _handler(job.request);
        if (!keepAlive || _draining)
            response.close = true;
        else if (http10)
            response.headers.emplace_back("Connection", "keep-alive");
        Done done{job.id, response.serialize(headOnly), response.close};
        {
            std::lock_guard<std::mutex> lock(_doneMutex);
            _done.push_back(std::move(done));
        }
        wake();
    }
}

void ConnectionFront::eventLoop()
{
    std::vector<epoll_event> events(256);
    bool drainStarted = false;
    bool acceptPaused = false;
    Clock::time_point lastSweep = Clock::now();
    std::vector<Done> done;
    while (!_stopNow)
    {
        const int ready = ::epoll_wait(_epoll, events.data(), static_cast<int>(events.size()), 100);
        for (int i = 0; i < ready; ++i)
        {
            const std::uint64_t key = events[i].data.u64;
            if (key == listenerKey)
            {
                bool accepting = true;
                try
                {
                    accepting = drainStarted || acceptAll();
                }
                catch (const std::exception& error)
                {
                    Poco::Logger::get("identity.error").error("connection front: %s", std::string(error.what()));
                }
                if (!accepting)
                {
                    // Out of descriptors: stop listening until the next sweep, rather than spin on a
                    // listener that stays readable.
                    epoll_event event{};
                    event.data.u64 = listenerKey;
                    ::epoll_ctl(_epoll, EPOLL_CTL_MOD, _listenFd, &event);
                    acceptPaused = true;
                }
                continue;
            }
            if (key == wakeKey)
            {
                std::uint64_t count = 0;
                [[maybe_unused]] const auto got = ::read(_wakeFd, &count, sizeof count);
                continue;
            }
            const auto found = _connections.find(key);
            if (found != _connections.end() && !found->second->closed)
            {
                // Nothing may end this thread: a connection whose handling threw is closed, and logged.
                try
                {
                    onEvent(*found->second, events[i].events);
                }
                catch (const std::exception& error)
                {
                    Poco::Logger::get("identity.error").error("connection front: %s", std::string(error.what()));
                    close(*found->second);
                }
                catch (...)
                {
                    close(*found->second);
                }
            }
        }

        {
            std::lock_guard<std::mutex> lock(_doneMutex);
            done.swap(_done);
        }
        for (const Done& each : done)
            finished(each);
        done.clear();
        // Requests already buffered on connections that just went idle (pipelined, or inside TLS).
        while (!_ready.empty())
        {
            std::vector<std::uint64_t> ready;
            ready.swap(_ready);
            for (const std::uint64_t id : ready)
            {
                const auto found = _connections.find(id);
                if (found == _connections.end() || found->second->closed ||
                    found->second->phase != Connection::Phase::Idle)
                    continue;
                if (found->second->parser.buffered())
                    parse(*found->second);
                if (!found->second->closed && found->second->phase == Connection::Phase::Idle && found->second->ssl)
                    readFrom(*found->second);
            }
        }

        const Clock::time_point now = Clock::now();
        if (now - lastSweep >= std::chrono::milliseconds(100))
        {
            lastSweep = now;
            sweep(now);
            if (acceptPaused && !drainStarted)
            {
                // Out of descriptors a moment ago: listen again.
                epoll_event event{};
                event.events = EPOLLIN;
                event.data.u64 = listenerKey;
                ::epoll_ctl(_epoll, EPOLL_CTL_MOD, _listenFd, &event);
                acceptPaused = false;
            }
        }
        if (_draining && !drainStarted)
        {
            drainStarted = true;
            // What the kernel accepted already is taken and served; new connections are refused from
            // now on: the socket is closed, not only left unread.
            acceptAll();
            ::epoll_ctl(_epoll, EPOLL_CTL_DEL, _listenFd, nullptr);
            _socket.close();
            // Idle keep-alive connections are closed after a moment's grace: a client that had a
            // keep-alive answer may be sending its next request just now, and that one is served (with
            // `Connection: close`) rather than reset.
            const Clock::time_point graceEnd = Clock::now() + drainIdleGrace;
            for (auto& [id, connection] : _connections)
                if (connection->phase == Connection::Phase::Handshaking && !connection->closed)
                    close(*connection); // no request has begun on it
                else if (connection->phase == Connection::Phase::Idle && !connection->closed)
                {
                    readFrom(*connection);
                    if (!connection->closed && connection->phase == Connection::Phase::Idle)
                        connection->deadline = std::min(connection->deadline, graceEnd);
                }
        }
        // Closed connections leave the table once no worker holds their request.
        for (auto it = _connections.begin(); it != _connections.end();)
        {
            if (it->second->closed && it->second->phase != Connection::Phase::Running)
                it = _connections.erase(it);
            else
                ++it;
        }
        if (drainStarted && _connections.empty())
        {
            std::lock_guard<std::mutex> lock(_stateMutex);
            if (!_quiet)
            {
                _quiet = true;
                _stateChanged.notify_all();
            }
        }
    }

    // The grace period is over: what is left is closed unfinished.
    std::size_t abandoned = 0;
    for (auto& [id, connection] : _connections)
        if (!connection->closed)
        {
            if (connection->phase != Connection::Phase::Idle && connection->phase != Connection::Phase::Lingering &&
                connection->phase != Connection::Phase::Handshaking)
                ++abandoned;
            close(*connection);
        }
    _socket.close(); // if the drain did not already
    std::lock_guard<std::mutex> lock(_stateMutex);
    _abandoned = abandoned;
    _loopEnded = true;
    _stateChanged.notify_all();
}

bool ConnectionFront::acceptAll()
{
    for (int accepted = 0; accepted < 256; ++accepted)
    {
        sockaddr_storage address{};
        socklen_t length = sizeof address;
        const int fd = ::accept4(_listenFd, reinterpret_cast<sockaddr*>(&address), &length,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
        {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            const bool starved = errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM;
            if (starved && Clock::now() - _lastStarvedLog > std::chrono::seconds(10))
            {
                _lastStarvedLog = Clock::now();
                Poco::Logger::get("identity.host")
                    .warning("cannot accept connections: %s (%z open); new clients wait in the backlog",
                             std::string(std::strerror(errno)), _connections.size());
            }
            return !starved;
        }
        std::string peer;
        try
        {
            peer = Poco::Net::SocketAddress(reinterpret_cast<const sockaddr*>(&address), length).host().toString();
        }
        catch (const Poco::Exception&)
        {
            peer = "unknown";
        }
        const bool capped = !_settings.uncappedAddresses.count(peer);
        const std::string key = _settings.addressKey ? _settings.addressKey(peer) : peer;
        if (capped && _perAddress[key] >= _settings.connectionsPerAddress)
        {
            ++_counters.refusedPerAddress;
            refuse(fd, peer, sdk::ApiError::resourceExhausted(1, "too_many_connections"));
            continue;
        }
        // Full: the connection idle the longest makes room (idle ones are the cheapest to hold, and the
        // easiest to hold many of); with none idle, the new one is refused.
        if (_connections.size() >= _settings.maxConnections && !evictIdle())
        {
            ++_counters.refusedTotal;
            refuse(fd, peer, sdk::ApiError::unavailable("overloaded").withRetryAfter(1));
            continue;
        }
        const std::uint64_t id = ++_nextId; // ids 0 and 1 are the listener and the wake-up
        auto connection = std::make_unique<Connection>(id, fd, peer, _settings.limits);
        connection->capped = capped;
        connection->key = key;
        if (capped)
            ++_perAddress[key];
        connection->deadline = Clock::now() + _settings.keepAliveTimeout;
        if (_tls)
        {
            connection->ssl = SSL_new(_tls->sslContext());
            if (!connection->ssl)
            {
                ::close(fd);
                if (capped && --_perAddress[key] == 0)
                    _perAddress.erase(key);
                continue;
            }
            SSL_set_fd(connection->ssl, fd);
            SSL_set_accept_state(connection->ssl);
            SSL_set_mode(connection->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
            // The handshake has the request deadline; once done, the connection is idle until a request.
            connection->phase = Connection::Phase::Handshaking;
            connection->deadline = Clock::now() + _settings.requestTimeout;
        }
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.u64 = id;
        if (::epoll_ctl(_epoll, EPOLL_CTL_ADD, fd, &event) != 0)
        {
            if (connection->ssl)
                SSL_free(connection->ssl);
            ::close(fd);
            if (capped && --_perAddress[key] == 0)
                _perAddress.erase(key);
            continue;
        }
        ++_counters.accepted;
        ++_counters.open;
        _connections.emplace(id, std::move(connection));
    }
    return true;
}

void ConnectionFront::refuse(int fd, const std::string& peer, const sdk::ApiError& error)
{
    if (!_tls)
    {
        // Best effort on a fresh socket, and bounded: one read of what the client sent already (so that
        // closing does not reset the connection before it reads the answer), the answer, and the close.
        char sink[4096];
        [[maybe_unused]] const auto drained = ::recv(fd, sink, sizeof sink, 0);
        HttpResponse response = _refusal(peer, error);
        response.close = true;
        const std::string bytes = response.serialize(false);
        [[maybe_unused]] const auto sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        ::shutdown(fd, SHUT_WR);
    }
    ::close(fd);
}

bool ConnectionFront::evictIdle()
{
    Connection* oldest = nullptr;
    for (auto& [id, connection] : _connections)
        if (!connection->closed && connection->phase == Connection::Phase::Idle && !connection->parser.started() &&
            (!oldest || connection->deadline < oldest->deadline))
            oldest = connection.get();
    if (!oldest)
        return false;
    close(*oldest);
    return true;
}

void ConnectionFront::watch(Connection& connection, std::uint32_t events)
{
    if (connection.closed || connection.events == events)
        return;
    epoll_event event{};
    event.events = events;
    event.data.u64 = connection.id;
    ::epoll_ctl(_epoll, EPOLL_CTL_MOD, connection.fd, &event);
    connection.events = events;
}

void ConnectionFront::onEvent(Connection& connection, std::uint32_t events)
{
    if (events & EPOLLERR || ((events & EPOLLHUP) && connection.phase == Connection::Phase::Running))
    {
        close(connection);
        return;
    }
    switch (connection.phase)
    {
    case Connection::Phase::Handshaking:
    case Connection::Phase::Idle:
    case Connection::Phase::Reading:
        readFrom(connection);
        break;
    case Connection::Phase::Writing:
        writeTo(connection);
        break;
    case Connection::Phase::Lingering:
    {
        char sink[readChunk];
        for (;;)
        {
            const long got = receive(connection, sink, sizeof sink);
            if (got == -1)
                break;
            if (got <= 0 || (connection.lingered += static_cast<std::size_t>(got)) > lingerBytes)
            {
                close(connection);
                break;
            }
        }
        break;
    }
    case Connection::Phase::Running:
        break;
    }
}

bool ConnectionFront::handshake(Connection& connection)
{
    ERR_clear_error();
    const int result = SSL_do_handshake(connection.ssl);
    if (result == 1)
    {
        connection.handshaken = true;
        connection.phase = Connection::Phase::Idle;
        connection.deadline = Clock::now() + (_draining ? drainIdleGrace : _settings.keepAliveTimeout);
        watch(connection, EPOLLIN);
        return true;
    }
    switch (SSL_get_error(connection.ssl, result))
    {
    case SSL_ERROR_WANT_READ:
        watch(connection, EPOLLIN);
        break;
    case SSL_ERROR_WANT_WRITE:
        watch(connection, EPOLLOUT);
        break;
    default:
        close(connection); // not TLS, or no suite in common: nothing can be answered
        break;
    }
    return false;
}

long ConnectionFront::receive(Connection& connection, char* data, std::size_t size)
{
    if (!connection.ssl)
    {
        for (;;)
        {
            const ssize_t got = ::recv(connection.fd, data, size, 0);
            if (got >= 0)
                return got;
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2;
        }
    }
    ERR_clear_error();
    const int got = SSL_read(connection.ssl, data, static_cast<int>(size));
    if (got > 0)
        return got;
    switch (SSL_get_error(connection.ssl, got))
    {
    case SSL_ERROR_WANT_READ:
        watch(connection, EPOLLIN);
        return -1;
    case SSL_ERROR_WANT_WRITE:
        watch(connection, EPOLLOUT);
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    default:
        return -2;
    }
}

long ConnectionFront::transmit(Connection& connection, const char* data, std::size_t size)
{
    if (!connection.ssl)
    {
        for (;;)
        {
            const ssize_t sent = ::send(connection.fd, data, size, MSG_NOSIGNAL);
            if (sent >= 0)
                return sent;
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : -2;
        }
    }
    ERR_clear_error();
    const int sent = SSL_write(connection.ssl, data, static_cast<int>(size));
    if (sent > 0)
        return sent;
    switch (SSL_get_error(connection.ssl, sent))
    {
    case SSL_ERROR_WANT_READ:
        watch(connection, EPOLLIN);
        return -1;
    case SSL_ERROR_WANT_WRITE:
        watch(connection, EPOLLOUT);
        return -1;
    default:
        return -2;
    }
}

void ConnectionFront::readFrom(Connection& connection)
{
    if (connection.ssl && !connection.handshaken && !handshake(connection))
        return;
    char data[readChunk];
    // A few reads per event at most, so that one fast sender cannot hold the thread; level-triggered
    // epoll brings the rest.
    for (int reads = 0; reads < 4 && !connection.closed; ++reads)
    {
        const long got = receive(connection, data, sizeof data);
        if (got == -1)
            return;
        if (got <= 0)
        {
            // The client went away (mid-request or between requests): nobody to answer.
            close(connection);
            return;
        }
        if (connection.phase == Connection::Phase::Idle)
            watch(connection, EPOLLIN);
        connection.parser.append(data, static_cast<std::size_t>(got));
        parse(connection);
        if (connection.phase != Connection::Phase::Idle && connection.phase != Connection::Phase::Reading)
            return; // a request went to a worker, or an answer is going out: read on afterwards
        if (connection.ssl && SSL_pending(connection.ssl) == 0 && static_cast<std::size_t>(got) < sizeof data)
            return;
    }
}

void ConnectionFront::parse(Connection& connection)
{
    if (connection.phase == Connection::Phase::Idle && connection.parser.started())
    {
        connection.phase = Connection::Phase::Reading;
        connection.arrivedMs = monotonicMs();
        connection.deadline = Clock::now() + _settings.requestTimeout;
    }
    if (connection.phase != Connection::Phase::Reading)
        return;
    switch (connection.parser.advance())
    {
    case HttpRequestParser::Result::NeedMore:
        if (connection.parser.wantsContinue())
        {
            static const std::string proceed = "HTTP/1.1 100 Continue\r\n\r\n";
            connection.parser.continueSent();
            if (transmit(connection, proceed.data(), proceed.size()) != static_cast<long>(proceed.size()))
                close(connection); // a fresh socket's buffer takes 25 bytes; if not, the client is gone
        }
        return;
    case HttpRequestParser::Result::Failed:
    {
        const int status = connection.parser.failureStatus();
        HttpResponse response = _refusal(
            connection.peer, status == 431 ? sdk::ApiError(431, "invalid_argument", 4310, connection.parser.failureKey())
                                           : sdk::ApiError::invalidArgument(connection.parser.failureKey()));
        response.close = true;
        respond(connection, response, false);
        return;
    }
    case HttpRequestParser::Result::Complete:
        dispatch(connection);
        return;
    }
}

void ConnectionFront::dispatch(Connection& connection)
{
    HttpRequest request = connection.parser.take();
    request.peer = connection.peer;
    request.arrivedMs = connection.arrivedMs;
    connection.headOnly = request.head.method == "HEAD";
    connection.phase = Connection::Phase::Running;
    watch(connection, 0); // hang-ups and errors are still reported
    {
        std::unique_lock<std::mutex> lock(_jobsMutex);
        if (_jobs.size() < _settings.maxQueued)
        {
            _jobs.push_back(Job{connection.id, std::move(request)});
            ++_counters.inFlight;
            lock.unlock();
            _jobsReady.notify_one();
            return;
        }
    }
    ++_counters.refusedBusy;
    HttpResponse response = _refusal(connection.peer, sdk::ApiError::unavailable("overloaded").withRetryAfter(1));
    response.close = !request.keepAlive || _draining;
    respond(connection, response, connection.headOnly);
}

void ConnectionFront::respond(Connection& connection, const HttpResponse& response, bool headOnly)
{
    connection.out = response.serialize(headOnly);
    connection.outAt = 0;
    connection.closeAfter = response.close;
    connection.phase = Connection::Phase::Writing;
    connection.deadline = Clock::now() + _settings.writeTimeout;
    writeTo(connection);
}

void ConnectionFront::finished(const Done& done)
{
    --_counters.inFlight;
    const auto found = _connections.find(done.id);
    if (found == _connections.end())
        return;
    Connection& connection = *found->second;
    if (connection.closed)
    {
        connection.phase = Connection::Phase::Idle; // no worker holds it now: it leaves the table
        return;
    }
    connection.out = done.bytes;
    connection.outAt = 0;
    connection.closeAfter = done.close;
    connection.phase = Connection::Phase::Writing;
    connection.deadline = Clock::now() + _settings.writeTimeout;
    writeTo(connection);
}

void ConnectionFront::writeTo(Connection& connection)
{
    while (connection.outAt < connection.out.size())
    {
        const long sent = transmit(connection, connection.out.data() + connection.outAt,
                                   connection.out.size() - connection.outAt);
        if (sent == -1)
        {
            if (!connection.ssl)
                watch(connection, EPOLLOUT);
            return;
        }
        if (sent <= 0)
        {
            close(connection);
            return;
        }
        connection.outAt += static_cast<std::size_t>(sent);
    }
    afterWrite(connection);
}

void ConnectionFront::afterWrite(Connection& connection)
{
    connection.out.clear();
    connection.out.shrink_to_fit();
    connection.outAt = 0;
    if (connection.closeAfter)
        linger(connection);
    else
        startIdle(connection);
}

void ConnectionFront::startIdle(Connection& connection)
{
    connection.phase = Connection::Phase::Idle;
    // Draining: the answer just sent may have promised keep-alive (it was made before the drain began),
    // so the next request is still taken for a moment, and answered with `Connection: close`.
    connection.deadline = Clock::now() + (_draining ? std::min<std::chrono::milliseconds>(
                                                          drainIdleGrace, _settings.keepAliveTimeout)
                                                    : _settings.keepAliveTimeout);
    watch(connection, EPOLLIN);
    // A pipelined request may be buffered already, in the parser or inside TLS: taken up in the event
    // loop's next round, not here (each answer would otherwise nest another parse in this call).
    if (connection.parser.buffered() || (connection.ssl && SSL_pending(connection.ssl) > 0))
        _ready.push_back(connection.id);
}

void ConnectionFront::linger(Connection& connection)
{
    if (connection.ssl)
    {
        ERR_clear_error();
        SSL_shutdown(connection.ssl); // close_notify, best effort
    }
    ::shutdown(connection.fd, SHUT_WR);
    connection.phase = Connection::Phase::Lingering;
    connection.deadline = Clock::now() + lingerTime;
    connection.lingered = 0;
    watch(connection, EPOLLIN);
}

void ConnectionFront::close(Connection& connection)
{
    if (connection.closed)
        return;
    connection.closed = true;
    if (connection.ssl)
    {
        SSL_free(connection.ssl);
        connection.ssl = nullptr;
    }
    ::epoll_ctl(_epoll, EPOLL_CTL_DEL, connection.fd, nullptr);
    ::close(connection.fd);
    --_counters.open;
    if (connection.capped)
    {
        const auto count = _perAddress.find(connection.key);
        if (count != _perAddress.end() && --count->second == 0)
            _perAddress.erase(count);
    }
}

void ConnectionFront::sweep(Clock::time_point now)
{
    for (auto& [id, pointer] : _connections)
    {
        Connection& connection = *pointer;
        if (connection.closed || connection.phase == Connection::Phase::Running || now < connection.deadline)
            continue;
        if (connection.phase == Connection::Phase::Reading && (!connection.ssl || connection.handshaken))
        {
            // Part of a request, and no more of it in time: 408, and the connection ends.
            ++_counters.timedOut;
            HttpResponse response =
                _refusal(connection.peer, sdk::ApiError(408, "deadline_exceeded", 4080, "request_timeout"));
            response.close = true;
            respond(connection, response, false);
            continue;
        }
        close(connection); // idle too long, a response not taken, a linger over, or no TLS handshake
    }
}

} // namespace identity::host

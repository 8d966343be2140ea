#pragma once

#include "notifiers/Interruptible.h"

#include "identity/sdk/Notifier.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/SMTPClientSession.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timestamp.h>

#include <memory>
#include <mutex>
#include <string>

namespace identity::reauth
{

/// Email over SMTP with Poco Mail and NetSSL.
///
/// `tls`: `starttls` (the default: the server must offer STARTTLS, or nothing is sent and no
/// credentials leave; checked again after the upgrade), `implicit` (TLS from the first byte, port 465),
/// or `none` (allowed only for a loopback server, for development). The server's certificate is
/// verified against the host name (SNI sent), with the system's CAs or `ca_file`. AUTH PLAIN or LOGIN
/// when `username` is set (`auth`: `auto` takes PLAIN when offered, else LOGIN; `plain` or `login`
/// insists on one). Connect and read time out after `timeout_seconds`. One session is kept for
/// consecutive messages and reopened after an error or `idle_seconds` without use.
///
/// Failures: SMTP 4xx, refused connections, timeouts and broken connections are transient; 5xx
/// answers, a missing STARTTLS, rejected credentials and certificate failures are permanent.
class SmtpNotifier : public sdk::Notifier, public Interruptible
{
public:
    explicit SmtpNotifier(const Poco::Util::AbstractConfiguration& config);
    ~SmtpNotifier() override;

    void send(const sdk::Message& message) override;
    void interrupt() override;

    /// Sessions opened so far (for tests and the benchmark).
    int connections() const { return _connections; }

private:
    enum class Tls
    {
        StartTls,
        Implicit,
        None
    };

    void connect();
    void connectSession(Poco::Net::StreamSocket socket);
    void disconnect();
    void deliver(const sdk::Message& message);

    std::string _host;
    Poco::UInt16 _port;
    Tls _tls;
    std::string _username;
    std::string _password;
    std::string _from;
    std::string _heloName;
    std::string _auth;
    Poco::Timespan _timeout;
    Poco::Timespan _idle;
    bool _reuse;
    Poco::Net::Context::Ptr _context;
    std::unique_ptr<Poco::Net::SMTPClientSession> _session;
    Poco::Timestamp _lastUsed;
    int _connections = 0;
    std::mutex _activeMutex;
    int _activeFd = -1;        ///< the session's socket while it is open, for interrupt()
    bool _interrupted = false; ///< for good: every send after interrupt() fails at once, as transient
};

} // namespace identity::reauth

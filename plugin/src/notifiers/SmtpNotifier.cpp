#include "notifiers/SmtpNotifier.h"

#include <sys/socket.h>

#include "notifiers/EncodedWord.h"
#include "notifiers/MailComposer.h"
#include "notifiers/OutboundTls.h"

#include <Poco/Net/IPAddress.h>
#include <Poco/Net/MailMessage.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/String.h>
#include <Poco/StringTokenizer.h>

namespace identity::reauth
{

namespace
{
/// SMTPClientSession with a STARTTLS that names the server: SNI is sent and the certificate is
/// checked against the configured host name, also when the socket was connected by us (with a timeout).
class StartTlsSession : public Poco::Net::SMTPClientSession
{
public:
    using SMTPClientSession::SMTPClientSession;

    /// EHLO; the server's answer lists its extensions.
    std::string ehlo(const std::string& name)
    {
        std::string response;
        login(name, response);
        return response;
    }

    /// AUTH LOGIN: Poco's recognises only a "Username:" prompt and, given another (aiosmtpd asks
    /// "User Name"), sends nothing and leaves the exchange half done. Servers ask for the user name
    /// first; the prompt's words do not matter.
    void authLogin(const std::string& username, const std::string& password)
    {
        std::string response;
        int status = sendCommand("AUTH LOGIN", response);
        if (isPositiveIntermediate(status))
            status = sendCommand(base64(username), response);
        if (isPositiveIntermediate(status))
            status = sendCommand(base64(password), response);
        if (!isPositiveCompletion(status))
            throw Poco::Net::SMTPException("AUTH LOGIN failed", status);
    }

    /// The reply to STARTTLS; on 2xx the connection is TLS (verified) from here on.
    int startTls(Poco::Net::Context::Ptr context, const std::string& hostName)
    {
        std::string response;
        const int status = sendCommand("STARTTLS", response);
        if (isPositiveCompletion(status))
            socket() = OutboundTls::secure(socket(), hostName, context);
        return status;
    }
};


/// The EHLO answer's keywords, upper case ("STARTTLS", "AUTH PLAIN LOGIN", …).
bool offers(const std::string& ehlo, const std::string& keyword)
{
    Poco::StringTokenizer lines(ehlo, "\r\n", Poco::StringTokenizer::TOK_IGNORE_EMPTY | Poco::StringTokenizer::TOK_TRIM);
    for (const std::string& line : lines)
    {
        // "250-STARTTLS" / "250 AUTH PLAIN LOGIN"
        const std::string text = Poco::toUpper(line.size() > 4 ? line.substr(4) : std::string());
        if (text == keyword || text.rfind(keyword + " ", 0) == 0)
            return true;
    }
    return false;
}

bool offersAuth(const std::string& ehlo, const std::string& mechanism)
{
    Poco::StringTokenizer lines(ehlo, "\r\n", Poco::StringTokenizer::TOK_IGNORE_EMPTY | Poco::StringTokenizer::TOK_TRIM);
    for (const std::string& line : lines)
    {
        const std::string text = Poco::toUpper(line.size() > 4 ? line.substr(4) : std::string());
        if (text.rfind("AUTH ", 0) != 0 && text.rfind("AUTH=", 0) != 0)
            continue;
        Poco::StringTokenizer words(text.substr(5), " ", Poco::StringTokenizer::TOK_IGNORE_EMPTY);
        for (const std::string& word : words)
            if (word == mechanism)
                return true;
    }
    return false;
}
} // namespace

SmtpNotifier::SmtpNotifier(const Poco::Util::AbstractConfiguration& config)
    : _host(config.getString("host", "")), _port(static_cast<Poco::UInt16>(config.getInt("port", 587))),
      _username(config.getString("username", "")), _password(config.getString("password", "")),
      _from(config.getString("from", "")), _heloName(config.getString("helo", "localhost")),
      _auth(config.getString("auth", "auto")),
      _timeout(config.getInt("timeout_seconds", 10), 0), _idle(config.getInt("idle_seconds", 30), 0),
      _reuse(config.getBool("reuse_connection", true))
{
    if (_host.empty())
        throw Poco::InvalidArgumentException("email.smtp.host is not set");
    if (_from.empty())
        throw Poco::InvalidArgumentException("email.smtp.from is not set");
    if (_password.find("${") != std::string::npos)
        throw Poco::InvalidArgumentException("email.smtp.password names an environment variable that is not set");
    if (_auth != "auto" && _auth != "plain" && _auth != "login")
        throw Poco::InvalidArgumentException("email.smtp.auth must be auto, plain or login", _auth);
    const std::string tls = config.getString("tls", "starttls");
    if (tls == "starttls")
        _tls = Tls::StartTls;
    else if (tls == "implicit")
        _tls = Tls::Implicit;
    else if (tls == "none")
    {
        if (!OutboundTls::isLoopback(_host))
            throw Poco::InvalidArgumentException("email.smtp.tls: 'none' is allowed only for a loopback server");
        _tls = Tls::None;
    }
    else
        throw Poco::InvalidArgumentException("email.smtp.tls must be starttls, implicit or none", tls);

    if (_tls != Tls::None)
        _context = OutboundTls::verifyingContext(config.getString("ca_file", ""));
}

SmtpNotifier::~SmtpNotifier() { disconnect(); }

void SmtpNotifier::interrupt()
{
    std::lock_guard<std::mutex> lock(_activeMutex);
    _interrupted = true; // no fresh session after this: the retry of a broken one would hang again
    if (_activeFd >= 0)
        ::shutdown(_activeFd, SHUT_RDWR); // the blocked read returns; the descriptor stays the session's
}

void SmtpNotifier::disconnect()
{
    if (!_session)
        return;
    {
        std::lock_guard<std::mutex> lock(_activeMutex);
        _activeFd = -1; // before the descriptor can be closed and taken by another socket
    }
    try
    {
        _session->close(); // QUIT
    }
    catch (...)
    {
    }
    _session.reset();
}

void SmtpNotifier::connect()
{
    {
        std::lock_guard<std::mutex> lock(_activeMutex);
        if (_interrupted)
            throw sdk::DeliveryError("smtp: the delivery worker is stopping", true);
    }
    Poco::Net::StreamSocket socket = OutboundTls::connect(_host, _port, _timeout);
    {
        std::lock_guard<std::mutex> lock(_activeMutex);
        _activeFd = socket.impl()->sockfd();
        if (_interrupted) // interrupted while connecting
            throw sdk::DeliveryError("smtp: the delivery worker is stopping", true);
    }
    try
    {
        connectSession(socket);
    }
    catch (...)
    {
        std::lock_guard<std::mutex> lock(_activeMutex);
        _activeFd = -1; // `socket` closes when this returns
        throw;
    }
}

void SmtpNotifier::connectSession(Poco::Net::StreamSocket socket)
{
    if (_tls == Tls::Implicit)
        socket = OutboundTls::secure(socket, _host, _context);
    auto session = std::make_unique<StartTlsSession>(socket);
    session->setTimeout(_timeout);
    ++_connections;
    session->open();

    std::string ehlo = session->ehlo(_heloName);
    if (_tls == Tls::StartTls)
    {
        // Refuse to go on in clear text: no AUTH, no message.
        if (!offers(ehlo, "STARTTLS"))
            throw sdk::DeliveryError("smtp: the server does not offer STARTTLS, which the configuration requires",
                                     false);
        const int reply = session->startTls(_context, _host);
        if (reply / 100 != 2)
            throw sdk::DeliveryError("smtp: the server refused STARTTLS (reply " + std::to_string(reply) + ")",
                                     reply / 100 == 4);
        ehlo = session->ehlo(_heloName); // capabilities may change under TLS
    }
    if (!_username.empty())
    {
        if (_auth != "login" && offersAuth(ehlo, "PLAIN"))
            session->login(_heloName, Poco::Net::SMTPClientSession::AUTH_PLAIN, _username, _password);
        else if (_auth != "plain" && offersAuth(ehlo, "LOGIN"))
            session->authLogin(_username, _password);
        else
            throw sdk::DeliveryError("smtp: the server does not offer the configured AUTH mechanism", false);
    }
    _session = std::move(session);
}

void SmtpNotifier::deliver(const sdk::Message& message)
{
    if (_session && (!_reuse || _lastUsed.isElapsed(_idle.totalMicroseconds())))
        disconnect();
    if (!_session)
        connect();
    Poco::Net::MailMessage mail;
    MailComposer::compose(message, _from, mail);
    _session->sendMessage(mail);
    _lastUsed.update();
    if (!_reuse)
        disconnect();
}

void SmtpNotifier::send(const sdk::Message& message)
{
    // An SMTPException's text quotes the server's reply and, for a rejected recipient, the address:
    // only the reply code goes into the error (it is recorded and logged).
    auto lostConnection = [](const Poco::Exception& error) {
        // A kept session the server closed meanwhile: end of stream reads as reply 0, or over TLS as
        // an unexpected close.
        const auto* smtp = dynamic_cast<const Poco::Net::SMTPException*>(&error);
        return (smtp && smtp->code() == 0) ||
               dynamic_cast<const Poco::Net::SSLConnectionUnexpectedlyClosedException*>(&error) ||
               (!smtp && !dynamic_cast<const Poco::Net::SSLException*>(&error) &&
                dynamic_cast<const Poco::Net::NetException*>(&error));
    };
    const bool reused = _session != nullptr;
    try
    {
        try
        {
            deliver(message);
        }
        catch (const Poco::Exception& error)
        {
            if (!reused || !lostConnection(error))
                throw;
            disconnect(); // one more try on a fresh session
            deliver(message);
        }
    }
    catch (const sdk::DeliveryError&)
    {
        disconnect();
        throw;
    }
    catch (const Poco::Net::SMTPException& error)
    {
        disconnect();
        const int code = error.code();
        // 4xx is temporary, 5xx is not; 0 is a connection that ended.
        throw sdk::DeliveryError("smtp: the server answered " + std::to_string(code), code < 500);
    }
    catch (const Poco::Net::SSLConnectionUnexpectedlyClosedException& error)
    {
        disconnect();
        throw sdk::DeliveryError("smtp: the TLS connection closed unexpectedly", true);
    }
    catch (const Poco::Net::SSLException& error)
    {
        disconnect();
        throw sdk::DeliveryError("smtp: TLS failed: " + error.displayText(), false);
    }
    catch (const Poco::Exception& error)
    {
        // Refused, reset, timed out, unreachable: the server may be back soon.
        disconnect();
        throw sdk::DeliveryError("smtp: " + error.displayText(), true);
    }
}

} // namespace identity::reauth

#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timespan.h>

#include <string>

namespace identity::reauth
{

/// What every notifier that leaves the machine shares about TLS.
class OutboundTls
{
public:
    /// A client context that verifies the server (TLS 1.2 or newer, strong ciphers) against `caFile`,
    /// or the system's CAs when it is empty.
    static Poco::Net::Context::Ptr verifyingContext(const std::string& caFile);

    /// Clear text is allowed only to this machine.
    static bool isLoopback(const std::string& host);

    /// A TCP connection made within `timeout`, with that timeout for every read and write after it.
    static Poco::Net::StreamSocket connect(const std::string& host, Poco::UInt16 port, Poco::Timespan timeout);

    /// TLS over a connected socket: SNI for `host`, the handshake carried to its end within the
    /// socket's timeouts, and the certificate checked against `host`. (Poco checks the name only if the
    /// handshake ended inside its first read; a server slow to answer would skip the check.)
    static Poco::Net::SecureStreamSocket secure(const Poco::Net::StreamSocket& connected, const std::string& host,
                                                Poco::Net::Context::Ptr context);
};

} // namespace identity::reauth

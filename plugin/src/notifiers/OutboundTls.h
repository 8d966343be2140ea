#pragma once

#include <Poco/Net/Context.h>

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
};

} // namespace identity::reauth

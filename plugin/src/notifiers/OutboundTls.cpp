#include "notifiers/OutboundTls.h"

#include <Poco/Net/IPAddress.h>
#include <Poco/Net/SocketAddress.h>

namespace identity::reauth
{

Poco::Net::Context::Ptr OutboundTls::verifyingContext(const std::string& caFile)
{
    Poco::Net::Context::Params params;
    params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
    params.caLocation = caFile;
    params.loadDefaultCAs = caFile.empty();
    params.cipherList = "HIGH:!aNULL:!MD5:!RC4";
    Poco::Net::Context::Ptr context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    return context;
}

bool OutboundTls::isLoopback(const std::string& host)
{
    if (host == "localhost")
        return true;
    Poco::Net::IPAddress address;
    return Poco::Net::IPAddress::tryParse(host, address) && address.isLoopback();
}

Poco::Net::StreamSocket OutboundTls::connect(const std::string& host, Poco::UInt16 port, Poco::Timespan timeout)
{
    Poco::Net::StreamSocket socket;
    socket.connect(Poco::Net::SocketAddress(host, port), timeout);
    socket.setReceiveTimeout(timeout);
    socket.setSendTimeout(timeout);
    return socket;
}

Poco::Net::SecureStreamSocket OutboundTls::secure(const Poco::Net::StreamSocket& connected, const std::string& host,
                                                  Poco::Net::Context::Ptr context)
{
    Poco::Net::SecureStreamSocket socket = Poco::Net::SecureStreamSocket::attach(connected, host, context);
    socket.completeHandshake();
    socket.verifyPeerCertificate(host);
    return socket;
}

} // namespace identity::reauth

#include "notifiers/HttpDelivery.h"

#include "notifiers/OutboundTls.h"

#include "identity/sdk/Notifier.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/SSLException.h>
#include <Poco/NumberParser.h>

#include <memory>

namespace identity::reauth
{

HttpDelivery::HttpDelivery(const Poco::Util::AbstractConfiguration& config, const std::string& what)
    : _what(what), _url(config.getString("url", "")), _timeout(config.getInt("timeout_seconds", 10), 0)
{
    if (_url.getHost().empty())
        throw Poco::InvalidArgumentException(what + ".url is not set");
    if (_url.getScheme() == "https")
        _context = OutboundTls::verifyingContext(config.getString("ca_file", ""));
    else if (_url.getScheme() != "http" || !OutboundTls::isLoopback(_url.getHost()))
        throw Poco::InvalidArgumentException(what + ".url must be https (http only to a loopback address)");
}

std::string HttpDelivery::exchange(Poco::Net::HTTPRequest& request, const std::string& body)
{
    try
    {
        // Connected and (for https) verified by us, with timeouts from the first byte: see OutboundTls.
        // (HTTPSClientSession cannot take a connected socket in Poco 1.11: it sets its port and throws.
        // HTTP over the verified TLS socket is the same thing.)
        Poco::Net::StreamSocket socket = OutboundTls::connect(_url.getHost(), _url.getPort(), _timeout);
        if (_context)
            socket = OutboundTls::secure(socket, _url.getHost(), _context);
        auto session = std::make_unique<Poco::Net::HTTPClientSession>(socket);
        session->setTimeout(_timeout, _timeout, _timeout);
        request.setHost(_url.getHost(), _url.getPort());
        if (!body.empty())
            request.setContentLength64(static_cast<Poco::Int64>(body.size()));
        session->sendRequest(request) << body;
        Poco::Net::HTTPResponse response;
        std::istream& in = session->receiveResponse(response);
        std::string answer(64 * 1024, '\0'); // a provider's answer is short; read no more than this
        in.read(answer.data(), static_cast<std::streamsize>(answer.size()));
        answer.resize(static_cast<std::size_t>(in.gcount()));
        const int status = response.getStatus();
        if (status >= 200 && status < 300)
            return answer;
        int retryAfter = 0;
        Poco::NumberParser::tryParse(response.get("Retry-After", "0"), retryAfter);
        const bool transient = status >= 500 || status == 408 || status == 429;
        throw sdk::DeliveryError(_what + ": the provider answered " + std::to_string(status), transient,
                                 transient ? retryAfter : 0);
    }
    catch (const sdk::DeliveryError&)
    {
        throw;
    }
    catch (const Poco::Net::SSLConnectionUnexpectedlyClosedException&)
    {
        throw sdk::DeliveryError(_what + ": the TLS connection closed unexpectedly", true);
    }
    catch (const Poco::Net::SSLException& error)
    {
        throw sdk::DeliveryError(_what + ": TLS failed: " + error.displayText(), false);
    }
    catch (const Poco::Exception& error)
    {
        throw sdk::DeliveryError(_what + ": " + error.displayText(), true);
    }
}

} // namespace identity::reauth

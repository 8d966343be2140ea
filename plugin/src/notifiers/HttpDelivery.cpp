#include "notifiers/HttpDelivery.h"

#include "notifiers/OutboundTls.h"

#include "identity/sdk/Notifier.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/SSLException.h>
#include <Poco/NumberParser.h>
#include <Poco/StreamCopier.h>

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
        std::unique_ptr<Poco::Net::HTTPClientSession> session;
        if (_context)
            session = std::make_unique<Poco::Net::HTTPSClientSession>(_url.getHost(), _url.getPort(), _context);
        else
            session = std::make_unique<Poco::Net::HTTPClientSession>(_url.getHost(), _url.getPort());
        session->setTimeout(_timeout, _timeout, _timeout);
        request.setHost(_url.getHost(), _url.getPort());
        if (!body.empty())
            request.setContentLength64(static_cast<Poco::Int64>(body.size()));
        session->sendRequest(request) << body;
        Poco::Net::HTTPResponse response;
        std::string answer;
        Poco::StreamCopier::copyToString(session->receiveResponse(response), answer);
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

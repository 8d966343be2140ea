#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/URI.h>
#include <Poco/Util/AbstractConfiguration.h>

#include <string>

namespace identity::reauth
{

/// One HTTP(S) request to a delivery provider (the Kannel gateway, a webhook), with the rules both
/// share: certificates verified against the host name (system CAs or `ca_file`), plain HTTP only to a
/// loopback address, connect and read timeouts, and the provider's answer turned into success or a
/// transient or permanent DeliveryError (5xx, 408 and 429 are transient and carry Retry-After;
/// other 4xx are permanent; network failures are transient).
class HttpDelivery
{
public:
    /// Reads `url`, `ca_file` and `timeout_seconds` from the notifier's configuration section.
    HttpDelivery(const Poco::Util::AbstractConfiguration& config, const std::string& what);

    /// Sends the request (path and query of `request` are used as they are, relative to the base URL's
    /// host) and returns the body of a 2xx answer; throws sdk::DeliveryError otherwise.
    std::string exchange(Poco::Net::HTTPRequest& request, const std::string& body = "");

    const Poco::URI& url() const { return _url; }

private:
    std::string _what;
    Poco::URI _url;
    Poco::Timespan _timeout;
    Poco::Net::Context::Ptr _context;
};

} // namespace identity::reauth

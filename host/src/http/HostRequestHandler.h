#pragma once

#include "auth/Authenticator.h"
#include "http/Dispatcher.h"
#include "http/MessageCatalog.h"

#include "identity/sdk/Clock.h"
#include "identity/sdk/SecureRandom.h"

#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/MessageHeader.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>

#include <atomic>
#include <set>
#include <string>

namespace identity::host
{

struct HttpSettings
{
    std::size_t maxBodyBytes = 16384;
    std::string defaultClientId;
    std::set<std::string> clients;
    /// Peers whose X-Forwarded-For is believed (reverse proxies); the client is then the nearest
    /// untrusted address in it.
    std::set<std::string> trustedProxies;
};

/// Request counts by status, for /metrics.
struct RequestCounters
{
    std::atomic<Poco::UInt64> total{0};
    std::atomic<Poco::UInt64> byClass[6]{}; // 1xx..5xx by index 1..5
};

/// Everything a request's way through the host needs; owned by the server, shared by its handlers.
struct RequestContext
{
    HttpSettings settings;
    Dispatcher& dispatcher;
    MessageCatalog& messages;
    const Authenticator& authenticator;
    sdk::SecureRandom& random;
    Poco::Logger& accessLog;
    Poco::Logger& errorLog;
    RequestCounters& counters;
};

/// The host-owned handler every request goes through (never a plugin's object, so a plugin can be
/// unloaded while the server runs): request id, route lookup (404/405), body limits and media types,
/// JSON parsing, client id, authentication, the route's handler, the CloudBase error envelope, the
/// security headers and one access-log line. No exception escapes it.
class HostRequestHandler : public Poco::Net::HTTPRequestHandler
{
public:
    explicit HostRequestHandler(RequestContext& context) : _context(context) {}

    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override;

    /// "zh" or "en": the header's most preferred language of those served; "" when it states no
    /// preference (absent, `*` ahead of both, or only languages not served): then the signed-in user's
    /// locale decides, and English where there is no user.
    static std::string preferredLocale(const std::string& acceptLanguage);

    /// Every line of a header field, in order, as one comma-separated value (RFC 9110 section 5.3): a
    /// trusted proxy may add its own X-Forwarded-For line after the one the client sent.
    static std::string allValues(const Poco::Net::MessageHeader& header, const std::string& name);

    /// The client's address: the peer, or, behind trusted proxies, the rightmost untrusted address of
    /// X-Forwarded-For (all of its lines).
    static std::string clientAddress(const std::string& peer, const std::string& forwardedFor,
                                     const std::set<std::string>& trustedProxies);

    /// A request body (already within the size limit, of a JSON media type) as the JSON object it
    /// must be: at most 32 levels deep, no key twice in one object, no NUL in a key or a string.
    /// Throws ApiError 400 4001 (`malformed_json`) for anything else.
    static Poco::JSON::Object::Ptr parseJsonBody(const std::string& body);

private:
    /// Reads and parses the body within the size limit; false when it was left unread.
    void readBody(class HostRequest& request);

    RequestContext& _context;
};

class HostRequestHandlerFactory : public Poco::Net::HTTPRequestHandlerFactory
{
public:
    explicit HostRequestHandlerFactory(RequestContext& context) : _context(context) {}

    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override
    {
        return new HostRequestHandler(_context);
    }

private:
    RequestContext& _context;
};

} // namespace identity::host

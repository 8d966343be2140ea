#pragma once

#include "app/MetricsRegistry.h"
#include "auth/Authenticator.h"
#include "http/Dispatcher.h"
#include "http/HttpMessage.h"
#include "http/MessageCatalog.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Clock.h"
#include "identity/sdk/Http.h"
#include "identity/sdk/SecureRandom.h"

#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>

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
    MetricsRegistry& metrics;
};

/// The host-owned way of every request a worker runs, as named stages over one HttpRequest that the
/// connection front read whole: framing (client address, request id, stated language, target), routing
/// (404/405), body (limits, media type, JSON), identity (client id, device id, the Bearer token), invoke
/// (the route's handler, given the finished, immutable request), render (the one error renderer and the
/// security headers) and the access log line. Never a plugin's object, so a plugin can be unloaded while
/// the server runs; no exception escapes it.
class RequestPipeline
{
public:
    explicit RequestPipeline(RequestContext& context) : _context(context) {}

    /// Runs a whole request on the calling (worker) thread.
    HttpResponse handle(HttpRequest& request);

    /// What the connection front answers itself (a head that cannot be read, a deadline missed, too many
    /// connections, every worker busy): the error's envelope, in English (no language was read), with
    /// `Connection: close`, and its access log line.
    HttpResponse refuse(const std::string& peer, const sdk::ApiError& error);

    /// "zh" or "en": the header's most preferred language of those served; "" when it states no
    /// preference (absent, `*` ahead of both, or only languages not served): then the signed-in user's
    /// locale decides, and English where there is no user.
    static std::string preferredLocale(const std::string& acceptLanguage);

    /// The client's address: the peer, or, behind trusted proxies, the rightmost untrusted address of
    /// X-Forwarded-For (all of its lines).
    static std::string clientAddress(const std::string& peer, const std::string& forwardedFor,
                                     const std::set<std::string>& trustedProxies);

    /// A request body (already within the size limit, of a JSON media type) as the JSON object it
    /// must be: at most 32 levels deep, no key twice in one object, no NUL in a key or a string.
    /// Throws ApiError 400 4001 (`malformed_json`) for anything else.
    static Poco::JSON::Object::Ptr parseJsonBody(const std::string& body);

private:
    struct Route;

    void frame(const HttpRequest& request, class HostRequest& built, std::string& statedLocale) const;
    Route route(const class HostRequest& built) const;
    void body(const HttpRequest& request, class HostRequest& built) const;
    void identity(const HttpRequest& request, const Route& route, const std::string& statedLocale,
                  class HostRequest& built) const;
    HttpResponse render(const sdk::Response& out, const std::string& requestId) const;
    sdk::Response renderError(const sdk::ApiError& error, const std::string& locale) const;
    void accessLog(const std::string& route, const std::string& method, const std::string& path, int status, double latencyMs,
                   const std::string& requestId, const std::string& client, const std::string& userId) const;

    RequestContext& _context;
};

} // namespace identity::host

#include "http/RequestPipeline.h"

#include "http/HostRequest.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"
#include "identity/sdk/Storage.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/JSONException.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/MediaType.h>
#include <Poco/NumberParser.h>
#include <Poco/String.h>
#include <Poco/StringTokenizer.h>
#include <Poco/Timestamp.h>
#include <Poco/URI.h>

#include <algorithm>
#include <chrono>
#include <atomic>
#include <set>
#include <sstream>
#include <vector>

namespace identity::host
{

namespace
{
/// Poco's handler, refusing an object that names a key twice: Poco keeps the last, a proxy or a WAF in
/// front may have checked the first (`{"password":"checked","password":"used"}`).
class UniqueKeysHandler : public Poco::JSON::ParseHandler
{
public:
    void reset() override
    {
        ParseHandler::reset();
        _objects.clear();
    }
    void startObject() override
    {
        ParseHandler::startObject();
        _objects.emplace_back();
    }
    void endObject() override
    {
        ParseHandler::endObject();
        _objects.pop_back();
    }
    void key(const std::string& name) override
    {
        if (!_objects.empty() && !_objects.back().insert(name).second)
            throw Poco::JSON::JSONException("duplicate key");
        ParseHandler::key(name);
    }

private:
    std::vector<std::set<std::string>> _objects; // the keys of each open object
};

/// True when the JSON text escapes a NUL (`\u0000`) anywhere: an escape is a backslash after an even
/// number of them. Poco 1.11 cuts an object's key at the NUL (`{"password\u0000x":…}` arrives as
/// "password"), so a key holding one cannot be seen in the parsed object; raw control characters are
/// refused by the parser itself.
bool escapesNul(const std::string& text)
{
    for (std::size_t at = text.find("u0000"); at != std::string::npos; at = text.find("u0000", at + 1))
    {
        std::size_t backslashes = 0;
        while (backslashes < at && text[at - 1 - backslashes] == '\\')
            ++backslashes;
        if (backslashes % 2 == 1)
            return true;
    }
    return false;
}

bool holdsNul(const Poco::Dynamic::Var& value);

bool holdsNul(const Poco::JSON::Object& object)
{
    for (const auto& [key, member] : object)
        if (key.find('\0') != std::string::npos || holdsNul(member))
            return true;
    return false;
}

bool holdsNul(const Poco::Dynamic::Var& value)
{
    if (value.type() == typeid(Poco::JSON::Object::Ptr))
        return holdsNul(*value.extract<Poco::JSON::Object::Ptr>());
    if (value.type() == typeid(Poco::JSON::Array::Ptr))
    {
        for (const auto& item : *value.extract<Poco::JSON::Array::Ptr>())
            if (holdsNul(item))
                return true;
        return false;
    }
    return value.isString() && value.extract<std::string>().find('\0') != std::string::npos;
}

/// One line per outage, not one per request: at most every 10 s, with how many requests it answered.
void logOutage(const std::string& why)
{
    static std::atomic<Poco::Int64> lastLogged{0};
    static std::atomic<long> answered{0};
    ++answered;
    const Poco::Int64 now = Poco::Timestamp().epochMicroseconds() / 1000000;
    Poco::Int64 last = lastLogged.load();
    if (now - last < 10 || !lastLogged.compare_exchange_strong(last, now))
        return;
    Poco::Logger::get("identity.storage")
        .warning("database unavailable, answering 503 (%ld requests since the last line): %s", answered.exchange(0),
                 why);
}
} // namespace

using sdk::ApiError;

namespace
{
/// Request ids from clients are echoed into headers and logs: accept only a short, plain token.
bool acceptableId(const std::string& id, std::size_t maxLength)
{
    if (id.empty() || id.size() > maxLength)
        return false;
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == ':'))
            return false;
    return true;
}

double monotonicMs()
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Sets a response header, replacing one of the same name (a route may set its own Cache-Control).
void setHeader(HttpResponse& response, const std::string& name, const std::string& value)
{
    for (auto& header : response.headers)
        if (Poco::icompare(header.first, name) == 0)
        {
            header.second = value;
            return;
        }
    response.headers.emplace_back(name, value);
}
} // namespace

std::string RequestPipeline::preferredLocale(const std::string& acceptLanguage)
{
    // RFC 9110 section 12.5.4: the highest-weighted range that names a language we serve wins (the first
    // of equals); `*` names none in particular. No winner, or `*` ahead of every served language: no
    // preference (what the official client's `Accept-Language: *` says).
    std::string best;
    double bestQuality = 0;
    Poco::StringTokenizer ranges(acceptLanguage, ",", Poco::StringTokenizer::TOK_TRIM | Poco::StringTokenizer::TOK_IGNORE_EMPTY);
    for (const std::string& range : ranges)
    {
        Poco::StringTokenizer parts(range, ";", Poco::StringTokenizer::TOK_TRIM);
        double quality = 1.0;
        for (std::size_t i = 1; i < parts.count(); ++i)
        {
            if (parts[i].rfind("q=", 0) == 0 && !Poco::NumberParser::tryParseFloat(parts[i].substr(2), quality))
                quality = 0;
        }
        const std::string tag = parts.count() ? Poco::toLower(parts[0]) : std::string();
        std::string locale;
        if (tag == "zh" || tag.rfind("zh-", 0) == 0)
            locale = "zh";
        else if (tag == "en" || tag.rfind("en-", 0) == 0)
            locale = "en";
        else if (tag != "*")
            continue; // a language we do not serve
        if (quality > bestQuality)
        {
            bestQuality = quality;
            best = locale;
        }
    }
    return best;
}

std::string RequestPipeline::clientAddress(const std::string& peer, const std::string& forwardedFor,
                                              const std::set<std::string>& trustedProxies)
{
    if (!trustedProxies.count(peer) || forwardedFor.empty())
        return peer;
    Poco::StringTokenizer hops(forwardedFor, ",", Poco::StringTokenizer::TOK_TRIM);
    std::string client = peer;
    for (auto hop = hops.count(); hop-- > 0;)
    {
        Poco::Net::IPAddress address;
        if (!Poco::Net::IPAddress::tryParse(hops[hop], address))
            break; // garbage: trust nothing further left
        client = address.toString();
        if (!trustedProxies.count(client))
            break;
    }
    return client;
}

Poco::JSON::Object::Ptr RequestPipeline::parseJsonBody(const std::string& body)
{
    Poco::JSON::Object::Ptr object;
    try
    {
        Poco::JSON::Parser parser(new UniqueKeysHandler);
        parser.setDepth(32);
        Poco::Dynamic::Var parsed = parser.parse(body);
        if (parsed.type() != typeid(Poco::JSON::Object::Ptr))
            throw ApiError::invalidArgument("malformed_json");
        object = parsed.extract<Poco::JSON::Object::Ptr>();
    }
    catch (const Poco::Exception&)
    {
        throw ApiError::invalidArgument("malformed_json");
    }
    // "\u0000" is valid JSON, but no identifier, password or code holds it, and PostgreSQL's text
    // cannot store it: refused here, the same on every database. In a key Poco drops it and what
    // follows, so the text is looked at too.
    if (holdsNul(*object) || escapesNul(body))
        throw ApiError::invalidArgument("malformed_json");
    return object;
}

/// The route a request is served by, and its owner (its plugin generation; null for the host's own
/// routes), held until the request is answered: what a plugin puts in the response (Poco::Dynamic::Var
/// holders whose vtables are in the plugin's image) and what it throws must be gone before its library
/// may be unloaded.
struct RequestPipeline::Route
{
    std::shared_ptr<const void> owner;
    sdk::Route route;
};

void RequestPipeline::frame(const HttpRequest& request, HostRequest& built, std::string& statedLocale) const
{
    const HttpRequestHead& head = request.head;
    built._method = head.method;
    built._clientAddress = clientAddress(request.peer, head.all("X-Forwarded-For"), _context.settings.trustedProxies);
    const std::string suppliedId = head.get("x-request-id");
    built._requestId = acceptableId(suppliedId, 128) ? suppliedId : sdk::crypto::toHex(_context.random.bytes(16));
    // Until the user is known, English when the request states no preference.
    statedLocale = preferredLocale(head.get("Accept-Language"));
    built._locale = statedLocale.empty() ? "en" : statedLocale;

    if (request.problem == BodyProblem::Framing)
        throw ApiError::invalidArgument("malformed_request");
    try
    {
        const Poco::URI uri(head.target);
        built._path = uri.getPath();
        for (const auto& parameter : uri.getQueryParameters())
            built._query.add(parameter.first, parameter.second);
    }
    catch (const Poco::Exception&)
    {
        throw ApiError::invalidArgument();
    }
}

RequestPipeline::Route RequestPipeline::route(const HostRequest& built) const
{
    const std::shared_ptr<const RouteTable> table = _context.dispatcher.current();
    std::string allow;
    bool pathKnown = false;
    const RouteTable::RouteEntry* entry = table->find(built._method, built._path, allow, pathKnown);
    // HEAD is GET without the body (RFC 9110 section 9.3.2), which the front leaves out.
    if (!entry && pathKnown && built._method == "HEAD")
        entry = table->find("GET", built._path, allow, pathKnown);
    if (!pathKnown)
        throw ApiError::notFound();
    if (!entry)
        throw ApiError::methodNotAllowed(allow);
    return Route{entry->owner, entry->route}; // the owner first: the route's code must not outlive it
}

void RequestPipeline::body(const HttpRequest& request, HostRequest& built) const
{
    if (request.problem == BodyProblem::TooLarge)
        throw ApiError::payloadTooLarge();
    if (request.problem == BodyProblem::Malformed)
        throw ApiError::invalidArgument("malformed_request");
    if (request.body.empty())
        return;

    // The official client sends JSON as text/plain (a browser fetch default); nothing else is JSON.
    if (!request.head.has("Content-Type"))
        throw ApiError::unsupportedMediaType();
    Poco::Net::MediaType type("application/octet-stream");
    try
    {
        type = Poco::Net::MediaType(request.head.get("Content-Type"));
    }
    catch (const Poco::Exception&)
    {
        throw ApiError::unsupportedMediaType();
    }
    if (!type.matches("application", "json") && !type.matches("text", "plain"))
        throw ApiError::unsupportedMediaType();
    built._body = parseJsonBody(request.body);
}

void RequestPipeline::identity(const HttpRequest& request, const Route& route, const std::string& statedLocale,
                               HostRequest& built) const
{
    const std::string clientId = built.query("client_id");
    if (!clientId.empty() && !_context.settings.clients.count(clientId))
        throw ApiError::invalidArgument("invalid_client_id");
    built._clientId = clientId.empty() ? _context.settings.defaultClientId : clientId;

    const std::string deviceId = request.head.get("x-device-id");
    if (!deviceId.empty() && !acceptableId(deviceId, 128))
        throw ApiError::invalidArgument();
    built._deviceId = deviceId;

    if (route.route.auth == sdk::Route::Auth::AccessToken)
    {
        built._principal = _context.authenticator.authenticate(request.head.get("Authorization"));
        if (statedLocale.empty()) // no preference stated: the user's own locale decides
            built._locale = built._principal->locale == "zh" ? "zh" : "en";
    }
}

sdk::Response RequestPipeline::renderError(const ApiError& error, const std::string& locale) const
{
    sdk::Response out;
    out.status = error.status();
    out.body->set("error", error.error());
    out.body->set("error_code", error.errorCode());
    out.body->set("error_description", _context.messages.text(error.descriptionKey(), locale));
    if (error.retryAfter() > 0)
        out.headers.emplace_back("Retry-After", std::to_string(error.retryAfter()));
    if (!error.allow().empty())
        out.headers.emplace_back("Allow", error.allow());
    return out;
}

HttpResponse RequestPipeline::render(const sdk::Response& out, const std::string& requestId) const
{
    HttpResponse response;
    response.status = out.status;
    response.headers = {{"Cache-Control", "no-store"},
                        {"Pragma", "no-cache"},
                        {"X-Content-Type-Options", "nosniff"},
                        {"X-Request-Id", requestId}};
    for (const auto& [name, value] : out.headers)
        setHeader(response, name, value);
    // A route that lets its answer be cached (the JWKS) gets no HTTP/1.0 `Pragma` saying otherwise.
    const auto cacheControl = std::find_if(response.headers.begin(), response.headers.end(),
                                           [](const auto& header) { return header.first == "Cache-Control"; });
    if (cacheControl->second != "no-store")
        response.headers.erase(std::find_if(response.headers.begin(), response.headers.end(),
                                            [](const auto& header) { return header.first == "Pragma"; }));
    if (!out.contentType.empty())
    {
        response.contentType = out.contentType;
        response.body = out.text;
    }
    else
    {
        response.contentType = "application/json; charset=utf-8";
        std::ostringstream body;
        out.body->stringify(body);
        response.body = body.str();
    }
    return response;
}

void RequestPipeline::accessLog(const std::string& route, const std::string& method, const std::string& path, int status, double latencyMs,
                                const std::string& requestId, const std::string& client,
                                const std::string& userId) const
{
    ++_context.counters.total;
    const int statusClass = status / 100;
    if (statusClass >= 1 && statusClass <= 5)
        ++_context.counters.byClass[statusClass];
    _context.metrics.observe(route, status, latencyMs / 1000.0);

    // Written by the logging thread (an AsyncChannel), which also makes every line valid UTF-8.
    Poco::JSON::Object line;
    line.set("type", "access");
    line.set("method", method);
    line.set("path", path);
    line.set("status", status);
    line.set("latency_ms", latencyMs);
    line.set("request_id", requestId);
    line.set("ip", client);
    if (!userId.empty())
        line.set("user_id", userId);
    std::ostringstream text;
    line.stringify(text);
    _context.accessLog.information(text.str());
}

HttpResponse RequestPipeline::handle(HttpRequest& request)
{
    HostRequest built(request.head);
    // Declared before the response: the route's owner outlives everything its code made.
    Route served;
    sdk::Response out;
    std::string internalError;
    try
    {
        std::string statedLocale;
        frame(request, built, statedLocale);
        served = route(built);
        body(request, built);
        identity(request, served, statedLocale, built);
        served.route.handler(built, out); // invoke: the request is complete and the handler sees it const
    }
    catch (const ApiError& error)
    {
        if (const auto* outage = dynamic_cast<const sdk::StorageUnavailable*>(&error))
            logOutage(outage->why());
        out = renderError(error, built._locale);
    }
    catch (const Poco::Exception& error)
    {
        internalError = error.displayText();
    }
    catch (const std::exception& error)
    {
        internalError = error.what();
    }
    catch (...)
    {
        internalError = "unknown exception";
    }
    if (!internalError.empty())
    {
        Poco::JSON::Object line;
        line.set("type", "error");
        line.set("request_id", built._requestId);
        line.set("path", built._path);
        line.set("error", internalError);
        std::ostringstream text;
        line.stringify(text);
        _context.errorLog.error(text.str());
        out = renderError(ApiError::internal(), built._locale);
    }

    HttpResponse response;
    try
    {
        response = render(out, built._requestId);
    }
    catch (const std::exception& error)
    {
        response = render(renderError(ApiError::internal(), built._locale), built._requestId);
    }
    out = sdk::Response(); // what the plugin made goes before its owner is let go
    accessLog(served.route.path, built._method, built._path, response.status, monotonicMs() - request.arrivedMs, built._requestId,
              built._clientAddress, built._principal ? built._principal->userId : std::string());
    return response;
}

HttpResponse RequestPipeline::refuse(const std::string& peer, const ApiError& error)
{
    const std::string requestId = sdk::crypto::toHex(_context.random.bytes(16));
    HttpResponse response = render(renderError(error, "en"), requestId);
    response.close = true;
    accessLog("", "", "", response.status, 0, requestId, peer, "");
    return response;
}

} // namespace identity::host

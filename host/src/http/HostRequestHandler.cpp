#include "http/HostRequestHandler.h"

#include "http/HostRequest.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"
#include "identity/sdk/Storage.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/JSONException.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/MediaType.h>
#include <Poco/NumberParser.h>
#include <Poco/String.h>
#include <Poco/StringTokenizer.h>
#include <Poco/Timestamp.h>
#include <Poco/URI.h>

#include <algorithm>
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

bool hasBody(const Poco::Net::HTTPServerRequest& request)
{
    return request.getChunkedTransferEncoding() ||
           (request.hasContentLength() && request.getContentLength64() > 0);
}

/// The body's framing must be unambiguous, or bytes of this request could be read as the next one
/// (request smuggling behind a proxy): at most one Content-Length, a plain decimal; Transfer-Encoding
/// only as exactly "chunked", and never together with Content-Length.
bool framingIsSound(const Poco::Net::HTTPServerRequest& request)
{
    int lengths = 0, encodings = 0;
    for (const auto& header : request)
    {
        if (Poco::icompare(header.first, "Content-Length") == 0)
        {
            ++lengths;
            const std::string& value = header.second;
            if (value.empty() || value.size() > 18 ||
                !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
                return false;
        }
        else if (Poco::icompare(header.first, "Transfer-Encoding") == 0)
        {
            ++encodings;
            if (Poco::icompare(Poco::trim(header.second), "chunked") != 0)
                return false;
        }
    }
    return lengths <= 1 && encodings <= 1 && lengths + encodings <= 1;
}

void sendJson(Poco::Net::HTTPServerResponse& response, const std::string& body)
{
    response.setContentType("application/json; charset=utf-8");
    response.setContentLength64(static_cast<Poco::Int64>(body.size()));
    response.send() << body;
}
} // namespace

std::string HostRequestHandler::preferredLocale(const std::string& acceptLanguage)
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

std::string HostRequestHandler::allValues(const Poco::Net::MessageHeader& header, const std::string& name)
{
    std::string joined;
    for (const auto& field : header)
        if (Poco::icompare(field.first, name) == 0)
            joined += (joined.empty() ? "" : ", ") + field.second;
    return joined;
}

std::string HostRequestHandler::clientAddress(const std::string& peer, const std::string& forwardedFor,
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

void HostRequestHandler::readBody(HostRequest& request)
{
    Poco::Net::HTTPServerRequest& poco = request.poco();
    const std::size_t limit = _context.settings.maxBodyBytes;
    std::istream& in = poco.stream();
    // A body over the limit is still read and discarded up to this much, so that the client, still
    // sending, gets the 413 instead of a reset connection; beyond it the connection is closed.
    constexpr std::streamsize drainLimit = 1 << 20;
    auto drain = [&] {
        in.ignore(drainLimit);
        request._bodyRead = in.eof() && !in.bad();
    };
    if (poco.hasContentLength() && poco.getContentLength64() > static_cast<Poco::Int64>(limit))
    {
        if (poco.getContentLength64() <= drainLimit)
            drain();
        throw ApiError::payloadTooLarge();
    }
    if (!hasBody(poco))
        return;

    // Read at most limit + 1 bytes: also bounds chunked bodies, which announce no length.
    std::string body(limit + 1, '\0');
    in.read(body.data(), static_cast<std::streamsize>(body.size()));
    // A broken chunk or a connection closed early: the stream swallows the exception and sets badbit.
    if (in.bad() || (in.fail() && !in.eof()))
        throw ApiError::invalidArgument("malformed_request");
    body.resize(static_cast<std::size_t>(in.gcount()));
    if (body.size() > limit)
    {
        drain();
        throw ApiError::payloadTooLarge();
    }
    request._bodyRead = true;
    if (body.empty())
        return;

    // The official client sends JSON as text/plain (a browser fetch default); nothing else is JSON.
    if (!poco.has("Content-Type"))
        throw ApiError::unsupportedMediaType();
    Poco::Net::MediaType type("application/octet-stream");
    try
    {
        type = Poco::Net::MediaType(poco.getContentType());
    }
    catch (const Poco::Exception&)
    {
        throw ApiError::unsupportedMediaType();
    }
    if (!type.matches("application", "json") && !type.matches("text", "plain"))
        throw ApiError::unsupportedMediaType();

    request._body = parseJsonBody(body);
}

Poco::JSON::Object::Ptr HostRequestHandler::parseJsonBody(const std::string& body)
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

void HostRequestHandler::handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response)
{
    const Poco::Timestamp started;
    HostRequest hostRequest(request);
    hostRequest._method = request.getMethod();
    hostRequest._clientAddress = clientAddress(request.clientAddress().host().toString(),
                                               allValues(request, "X-Forwarded-For"), _context.settings.trustedProxies);
    const std::string suppliedId = request.get("x-request-id", "");
    hostRequest._requestId = acceptableId(suppliedId, 128) ? suppliedId
                                                           : sdk::crypto::toHex(_context.random.bytes(16));
    // Until the user is known, English when the request states no preference.
    const std::string preferred = preferredLocale(request.get("Accept-Language", ""));
    hostRequest._locale = preferred.empty() ? "en" : preferred;

    // The route's owner (its plugin generation; null for the host's own routes) and the route, taken
    // once the body has been read, held until this function ends. Declared before the response: what a
    // plugin puts in the body (Poco::Dynamic::Var holders whose vtables are in the plugin's image) and
    // what it throws must be gone before its library may be unloaded. Only this route's owner is held,
    // and only from after the body arrived: a slow client pins no plugin build.
    std::shared_ptr<const void> owner;
    sdk::Route route;
    sdk::Response out;
    std::string internalError;
    try
    {
        if (!framingIsSound(request))
            throw ApiError::invalidArgument("malformed_request");
        hostRequest._bodyRead = !hasBody(request);

        Poco::URI uri;
        try
        {
            uri = Poco::URI(request.getURI());
            hostRequest._path = uri.getPath();
            for (const auto& parameter : uri.getQueryParameters())
                hostRequest._query.add(parameter.first, parameter.second);
        }
        catch (const Poco::Exception&)
        {
            throw ApiError::invalidArgument();
        }

        // Looked up before the body is read (404 and 405 need no body), and again after it: the table
        // may have been swapped meanwhile, and the route now served is the one that answers.
        auto lookUp = [&](bool take) {
            const std::shared_ptr<const RouteTable> table = _context.dispatcher.current();
            std::string allow;
            bool pathKnown = false;
            const RouteTable::RouteEntry* entry = table->find(hostRequest._method, hostRequest._path, allow, pathKnown);
            if (!pathKnown)
                throw ApiError::notFound();
            if (!entry)
                throw ApiError::methodNotAllowed(allow);
            if (take)
            {
                owner = entry->owner; // first: the route's code must not outlive it
                route = entry->route;
            }
        };
        lookUp(false);
        readBody(hostRequest);
        lookUp(true);

        const std::string clientId = hostRequest.query("client_id");
        if (!clientId.empty() && !_context.settings.clients.count(clientId))
            throw ApiError::invalidArgument("invalid_client_id");
        hostRequest._clientId = clientId.empty() ? _context.settings.defaultClientId : clientId;

        const std::string deviceId = request.get("x-device-id", "");
        if (!deviceId.empty() && !acceptableId(deviceId, 128))
            throw ApiError::invalidArgument();
        hostRequest._deviceId = deviceId;

        if (route.auth == sdk::Route::Auth::AccessToken)
        {
            hostRequest._principal = _context.authenticator.authenticate(request.get("Authorization", ""));
            if (preferred.empty()) // no preference stated: the user's own locale decides
                hostRequest._locale = hostRequest._principal->locale == "zh" ? "zh" : "en";
        }

        route.handler(hostRequest, out);
    }
    catch (const ApiError& error)
    {
        if (const auto* outage = dynamic_cast<const sdk::StorageUnavailable*>(&error))
            logOutage(outage->why());
        out = sdk::Response();
        out.status = error.status();
        out.body->set("error", error.error());
        out.body->set("error_code", error.errorCode());
        out.body->set("error_description", _context.messages.text(error.descriptionKey(), hostRequest._locale));
        if (error.retryAfter() > 0)
            out.headers.emplace_back("Retry-After", std::to_string(error.retryAfter()));
        if (!error.allow().empty())
            out.headers.emplace_back("Allow", error.allow());
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
        line.set("request_id", hostRequest._requestId);
        line.set("path", hostRequest._path);
        line.set("error", internalError);
        std::ostringstream text;
        line.stringify(text);
        _context.errorLog.error(text.str());
        const ApiError error = ApiError::internal();
        out = sdk::Response();
        out.status = error.status();
        out.body->set("error", error.error());
        out.body->set("error_code", error.errorCode());
        out.body->set("error_description", _context.messages.text(error.descriptionKey(), hostRequest._locale));
    }

    try
    {
        response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(out.status));
        response.set("Cache-Control", "no-store");
        response.set("Pragma", "no-cache");
        response.set("X-Content-Type-Options", "nosniff");
        response.set("X-Request-Id", hostRequest._requestId);
        for (const auto& header : out.headers)
            response.set(header.first, header.second);
        // A route that lets its answer be cached (the JWKS) gets no HTTP/1.0 `Pragma` saying otherwise.
        if (response.get("Cache-Control") != "no-store")
            response.erase("Pragma");
        // A body left unread would be taken for the next request on this connection.
        if (!hostRequest._bodyRead)
            response.setKeepAlive(false);
        if (!out.contentType.empty())
        {
            response.setContentType(out.contentType);
            response.setContentLength64(static_cast<Poco::Int64>(out.text.size()));
            response.send() << out.text;
        }
        else
        {
            std::ostringstream body;
            out.body->stringify(body);
            sendJson(response, body.str());
        }
    }
    catch (const std::exception& error)
    {
        // The client went away; nothing more to send.
    }

    ++_context.counters.total;
    const int statusClass = out.status / 100;
    if (statusClass >= 1 && statusClass <= 5)
        ++_context.counters.byClass[statusClass];

    Poco::JSON::Object line;
    line.set("type", "access");
    line.set("method", hostRequest._method);
    line.set("path", hostRequest._path);
    line.set("status", out.status);
    line.set("latency_ms", static_cast<double>(started.elapsed()) / 1000.0);
    line.set("request_id", hostRequest._requestId);
    line.set("ip", hostRequest._clientAddress);
    if (hostRequest._principal)
        line.set("user_id", hostRequest._principal->userId);
    std::ostringstream text;
    line.stringify(text);
    _context.accessLog.information(text.str());
}

} // namespace identity::host

#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace identity::host
{

/// A request head as it arrived: method, target and the header fields in order, names as sent.
struct HttpRequestHead
{
    std::string method;
    std::string target;
    int minorVersion = 1; ///< HTTP/1.<minorVersion>
    std::vector<std::pair<std::string, std::string>> fields;

    /// The first field of that name (case-insensitive), empty when absent.
    std::string get(const std::string& name) const;
    bool has(const std::string& name) const;
    /// Every line of that field, in order, as one comma-separated value (RFC 9110 section 5.3).
    std::string all(const std::string& name) const;
};

/// What made the head or the body unusable; the pipeline answers it after routing, as the body stage
/// would, so that an unknown path is 404 whatever its body.
enum class BodyProblem
{
    None,
    Framing,  ///< ambiguous or unknown framing: two Content-Lengths, a Transfer-Encoding other than chunked
    Malformed, ///< a chunk that does not parse
    TooLarge  ///< over `server.max_body_bytes` (announced or counted)
};

/// A whole request, head and body, read by the connection front before any worker sees it.
struct HttpRequest
{
    HttpRequestHead head;
    std::string body;
    BodyProblem problem = BodyProblem::None;
    std::string peer;        ///< the peer's address (the connection's, before X-Forwarded-For)
    bool keepAlive = true;   ///< what the client asked for (HTTP/1.1 default, or `Connection: keep-alive` on 1.0)
    double arrivedMs = 0;    ///< monotonic milliseconds when its first byte arrived, for the access log's latency
};

/// A response the pipeline rendered, written by the front as one buffer.
struct HttpResponse
{
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string contentType;
    std::string body;
    bool close = false; ///< `Connection: close`, and the connection ends after it

    /// The bytes on the wire; `headOnly` for HEAD requests (length announced, no body).
    std::string serialize(bool headOnly) const;
    static const char* reason(int status);
};

} // namespace identity::host

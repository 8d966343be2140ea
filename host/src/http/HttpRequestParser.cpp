#include "http/HttpRequestParser.h"

#include <Poco/String.h>

#include <algorithm>
#include <cstring>

namespace identity::host
{

namespace
{
bool isTokenChar(unsigned char c)
{
    // RFC 9110 section 5.6.2: tchar
    return std::isalnum(c) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool isToken(const std::string& text)
{
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c != '\0' && isTokenChar(c); });
}

/// A field value may hold visible characters, spaces, tabs and obs-text, never another control.
bool isFieldValue(const std::string& text)
{
    return std::all_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u == '\t' || (u >= 0x20 && u != 0x7f);
    });
}

std::string trimmed(const std::string& text)
{
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos)
        return {};
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

bool hasToken(const std::string& list, const char* token)
{
    std::size_t start = 0;
    while (start <= list.size())
    {
        const std::size_t comma = std::min(list.find(',', start), list.size());
        if (Poco::icompare(trimmed(list.substr(start, comma - start)), std::string(token)) == 0)
            return true;
        start = comma + 1;
    }
    return false;
}
} // namespace

HttpRequestParser::Result HttpRequestParser::fail(int status, const char* key)
{
    _phase = Phase::Failed;
    _failureStatus = status;
    _failureKey = key;
    return Result::Failed;
}

HttpRequestParser::Result HttpRequestParser::feed(const char* data, std::size_t size)
{
    _buffer.append(data, size);
    return advance();
}

void HttpRequestParser::compact()
{
    if (_phase == Phase::Head || _phase == Phase::Done || _phase == Phase::Failed || _at == 0)
        return;
    _buffer.erase(0, _at);
    _dropped += _at;
    _at = 0;
}

bool HttpRequestParser::line(std::string& out, std::size_t maxLength)
{
    const std::size_t end = _buffer.find("\r\n", _at);
    if (end == std::string::npos)
    {
        if (_buffer.size() - _at > maxLength)
            fail(400, "malformed_request");
        return false;
    }
    if (end - _at > maxLength)
    {
        fail(400, "malformed_request");
        return false;
    }
    out.assign(_buffer, _at, end - _at);
    _at = end + 2;
    return true;
}

void HttpRequestParser::finishBody(BodyProblem problem)
{
    _request.problem = problem;
    if (problem != BodyProblem::None)
        _request.keepAlive = false; // where this body ends is unknown, or it is not read: nothing follows
    _phase = Phase::Done;
}

bool HttpRequestParser::parseHead(std::size_t end)
{
    std::size_t at = 0;
    std::vector<std::string> lines;
    while (at < end)
    {
        const std::size_t next = _buffer.find("\r\n", at);
        lines.emplace_back(_buffer, at, next - at);
        at = next + 2;
    }
    if (lines.empty())
        return fail(400, "malformed_head"), false;

    // request-line = method SP request-target SP HTTP-version
    const std::string& requestLine = lines.front();
    const std::size_t firstSpace = requestLine.find(' ');
    const std::size_t lastSpace = requestLine.rfind(' ');
    if (firstSpace == std::string::npos || lastSpace == firstSpace)
        return fail(400, "malformed_head"), false;
    _request.head.method = requestLine.substr(0, firstSpace);
    _request.head.target = requestLine.substr(firstSpace + 1, lastSpace - firstSpace - 1);
    const std::string version = requestLine.substr(lastSpace + 1);
    if (!isToken(_request.head.method) || _request.head.method.size() > 32 || _request.head.target.empty() ||
        !std::all_of(_request.head.target.begin(), _request.head.target.end(),
                     [](char c) { return static_cast<unsigned char>(c) > 0x20 && c != 0x7f; }))
        return fail(400, "malformed_head"), false;
    if (version == "HTTP/1.1")
        _request.head.minorVersion = 1;
    else if (version == "HTTP/1.0")
        _request.head.minorVersion = 0;
    else
        return fail(400, "malformed_head"), false;

    if (lines.size() - 1 > _limits.maxFields)
        return fail(431, "header_too_large"), false;
    for (std::size_t i = 1; i < lines.size(); ++i)
    {
        const std::string& field = lines[i];
        const std::size_t colon = field.find(':');
        // No obs-fold, no space before the colon (RFC 9112 section 5.1: a smuggling vector).
        if (colon == std::string::npos || !isToken(field.substr(0, colon)))
            return fail(400, "malformed_head"), false;
        std::string value = trimmed(field.substr(colon + 1));
        if (!isFieldValue(value))
            return fail(400, "malformed_head"), false;
        _request.head.fields.emplace_back(field.substr(0, colon), std::move(value));
    }

    const HttpRequestHead& head = _request.head;
    const std::string connection = head.all("Connection");
    _request.keepAlive = head.minorVersion == 1 ? !hasToken(connection, "close") : hasToken(connection, "keep-alive");

    // The body's framing must be unambiguous, or bytes of this request could be read as the next one
    // (request smuggling behind a proxy): at most one Content-Length, a plain decimal; Transfer-Encoding
    // only as exactly "chunked", and never together with Content-Length.
    int lengths = 0, encodings = 0;
    std::string length;
    bool framingSound = true;
    for (const auto& [name, value] : head.fields)
    {
        if (Poco::icompare(name, "Content-Length") == 0)
        {
            ++lengths;
            length = value;
            if (value.empty() || value.size() > 18 ||
                !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
                framingSound = false;
        }
        else if (Poco::icompare(name, "Transfer-Encoding") == 0)
        {
            ++encodings;
            if (Poco::icompare(value, "chunked") != 0)
                framingSound = false;
        }
    }
    _at = end + 4;
    // Transfer-Encoding in an HTTP/1.0 request is faulty framing (RFC 9112 section 6.1): a 1.0 recipient
    // in front of the host would not have decoded it.
    if (!framingSound || lengths > 1 || encodings > 1 || lengths + encodings > 1 ||
        (encodings && head.minorVersion == 0))
    {
        finishBody(BodyProblem::Framing);
        return true;
    }
    _expectContinue = head.minorVersion == 1 && hasToken(head.all("Expect"), "100-continue");
    if (encodings == 1)
    {
        _phase = Phase::ChunkSize;
        return true;
    }
    const unsigned long long announced = lengths ? std::stoull(length) : 0;
    if (announced > _limits.maxBodyBytes)
    {
        finishBody(BodyProblem::TooLarge);
        return true;
    }
    _remaining = static_cast<std::size_t>(announced);
    _phase = _remaining ? Phase::Body : Phase::Done;
    return true;
}

HttpRequestParser::Result HttpRequestParser::advance()
{
    for (;;)
    {
        switch (_phase)
        {
        case Phase::Failed:
            return Result::Failed;
        case Phase::Done:
            return Result::Complete;
        case Phase::Head:
        {
            // Empty lines before a request line are tolerated (RFC 9112 section 2.2) and dropped; the
            // request deadline bounds a client that sends nothing else.
            std::size_t blank = 0;
            while (_buffer.compare(blank, 2, "\r\n") == 0)
                blank += 2;
            if (blank)
            {
                _buffer.erase(0, blank);
                _scanned = 0;
            }
            // Resume the search a little before where it stopped: the terminator may straddle reads.
            const std::size_t from = _scanned > 3 ? _scanned - 3 : 0;
            const std::size_t end = _buffer.find("\r\n\r\n", from);
            if (end == std::string::npos)
            {
                _scanned = _buffer.size();
                if (_buffer.size() >= _limits.maxHeadBytes)
                    return fail(431, "header_too_large");
                return Result::NeedMore;
            }
            if (end + 4 > _limits.maxHeadBytes)
                return fail(431, "header_too_large");
            if (!parseHead(end))
                return Result::Failed;
            continue;
        }
        case Phase::Body:
        {
            const std::size_t take = std::min(_remaining, _buffer.size() - _at);
            _request.body.append(_buffer, _at, take);
            _at += take;
            _remaining -= take;
            if (_remaining)
                return compact(), Result::NeedMore;
            finishBody(BodyProblem::None);
            continue;
        }
        case Phase::ChunkSize:
        {
            // Chunk framing counts too: one-byte chunks with 1 KiB extensions, or endless trailers,
            // would otherwise hold far more than the body limit in memory.
            if (_dropped + _at > rawLimit())
            {
                finishBody(BodyProblem::TooLarge);
                continue;
            }
            std::string sizeLine;
            if (!line(sizeLine, 1024))
            {
                if (_phase == Phase::Failed)
                    return finishBody(BodyProblem::Malformed), Result::Complete;
                return Result::NeedMore;
            }
            // chunk-size [ BWS ";" chunk-ext ]: hex digits first, and no control character but HTAB in the
            // line (a bare LF in an extension is a line end to some proxies: "funky chunks").
            const std::size_t hexEnd = sizeLine.find_first_not_of("0123456789abcdefABCDEF");
            const std::string digits = sizeLine.substr(0, hexEnd);
            const std::string rest = hexEnd == std::string::npos ? std::string() : sizeLine.substr(hexEnd);
            const std::size_t extension = rest.find_first_not_of(" \t");
            if (digits.empty() || digits.size() > 8 || !isFieldValue(rest) ||
                (extension != std::string::npos && rest[extension] != ';'))
            {
                finishBody(BodyProblem::Malformed);
                continue;
            }
            _remaining = std::stoul(digits, nullptr, 16);
            if (_remaining == 0)
            {
                _phase = Phase::Trailers;
                continue;
            }
            if (_request.body.size() + _remaining > _limits.maxBodyBytes)
            {
                finishBody(BodyProblem::TooLarge);
                continue;
            }
            _phase = Phase::ChunkData;
            continue;
        }
        case Phase::ChunkData:
        {
            const std::size_t take = std::min(_remaining, _buffer.size() - _at);
            _request.body.append(_buffer, _at, take);
            _at += take;
            _remaining -= take;
            if (_remaining)
                return compact(), Result::NeedMore;
            _phase = Phase::ChunkEnd;
            continue;
        }
        case Phase::ChunkEnd:
        {
            if (_buffer.size() - _at < 2)
                return Result::NeedMore;
            if (_buffer.compare(_at, 2, "\r\n") != 0)
            {
                finishBody(BodyProblem::Malformed);
                continue;
            }
            _at += 2;
            _phase = Phase::ChunkSize;
            continue;
        }
        case Phase::Trailers:
        {
            if (_dropped + _at > rawLimit())
            {
                finishBody(BodyProblem::TooLarge);
                continue;
            }
            std::string trailer;
            if (!line(trailer, _limits.maxHeadBytes))
            {
                if (_phase == Phase::Failed)
                    return finishBody(BodyProblem::Malformed), Result::Complete;
                return Result::NeedMore;
            }
            if (trailer.empty())
            {
                finishBody(BodyProblem::None); // trailer fields are read, checked and dropped
                continue;
            }
            const std::size_t colon = trailer.find(':');
            if (colon == std::string::npos || !isToken(trailer.substr(0, colon)) ||
                !isFieldValue(trailer.substr(colon + 1)))
                finishBody(BodyProblem::Malformed);
            continue;
        }
        }
    }
}

HttpRequest HttpRequestParser::take()
{
    HttpRequest request = std::move(_request);
    _buffer.erase(0, _at);
    if (_buffer.capacity() > 4 * 16384 && _buffer.size() < 16384)
        _buffer.shrink_to_fit(); // a large body's room goes back once the request is out
    _request = HttpRequest();
    _at = 0;
    _scanned = 0;
    _dropped = 0;
    _remaining = 0;
    _expectContinue = false;
    _continueSent = false;
    _phase = Phase::Head;
    return request;
}

} // namespace identity::host

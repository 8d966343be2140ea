#pragma once

#include "http/HttpMessage.h"

#include <cstddef>
#include <string>

namespace identity::host
{

/// An incremental HTTP/1.x request parser (RFC 9112) for the connection front: bytes go in as they
/// arrive, a whole request (head and body) comes out. Strict where leniency lets two parties read one
/// message two ways: CRLF line ends, no obs-fold, field names as tokens, one Content-Length of plain
/// digits or one `Transfer-Encoding: chunked`, never both. A head over its limit, or one that does not
/// parse, fails the connection (answered 431 or 400, then closed); problems of the body framing are
/// carried on the request for the pipeline to answer after routing.
class HttpRequestParser
{
public:
    struct Limits
    {
        std::size_t maxHeadBytes = 16384; ///< request line and fields, terminator included
        std::size_t maxFields = 100;
        std::size_t maxBodyBytes = 16384; ///< decoded, for chunked bodies too
    };

    enum class Result
    {
        NeedMore, ///< nothing complete yet
        Complete, ///< take() the request
        Failed    ///< the head cannot be read: answer failureStatus() and close
    };

    explicit HttpRequestParser(Limits limits) : _limits(limits) {}

    /// Appends bytes and parses as far as they go.
    Result feed(const char* data, std::size_t size);
    /// Appends bytes without parsing them (advance() does).
    void append(const char* data, std::size_t size) { _buffer.append(data, size); }
    /// Parses what is buffered (after take(), the bytes of a pipelined request may be there already).
    Result advance();

    /// The complete request; the parser starts on the next one, keeping the bytes after this one.
    HttpRequest take();

    /// Some byte of the current request has arrived (an idle connection has none).
    bool started() const
    {
        return _phase != Phase::Head || _buffer.find_first_not_of("\r\n") != std::string::npos;
    }
    /// The head is in and a body is awaited with `Expect: 100-continue`: the client waits for a 100.
    bool wantsContinue() const
    {
        return (_phase == Phase::Body || _phase == Phase::ChunkSize) && _request.body.empty() && _expectContinue &&
               !_continueSent;
    }
    void continueSent() { _continueSent = true; }

    int failureStatus() const { return _failureStatus; }
    const std::string& failureKey() const { return _failureKey; }
    std::size_t buffered() const { return _buffer.size(); }

private:
    enum class Phase
    {
        Head,
        Body,      ///< Content-Length bytes
        ChunkSize,
        ChunkData,
        ChunkEnd,  ///< the CRLF after a chunk's data
        Trailers,
        Done,
        Failed
    };

    Result fail(int status, const char* key);
    /// The most bytes one request may take on the wire: its head, its body and as much again of chunk
    /// framing.
    std::size_t rawLimit() const { return 2 * _limits.maxHeadBytes + 2 * _limits.maxBodyBytes; }
    /// Drops what the body phases have consumed, so that a body is held once (in the request), not twice.
    void compact();
    bool parseHead(std::size_t end);
    void finishBody(BodyProblem problem);
    /// One CRLF-terminated line from `_at`; false when it has not arrived (or is too long: then fails).
    bool line(std::string& out, std::size_t maxLength);

    Limits _limits;
    std::string _buffer;
    std::size_t _at = 0;      ///< bytes of `_buffer` consumed by the current request
    std::size_t _scanned = 0; ///< where the search for the head's end resumes
    std::size_t _dropped = 0; ///< bytes of the current request already dropped from `_buffer` by compact()
    Phase _phase = Phase::Head;
    HttpRequest _request;
    std::size_t _remaining = 0; ///< of the Content-Length, or of the current chunk
    bool _expectContinue = false;
    bool _continueSent = false;
    int _failureStatus = 0;
    std::string _failureKey;
};

} // namespace identity::host

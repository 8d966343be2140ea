// The connection front's HTTP/1.x request parser (HttpRequestParser) on arbitrary bytes. The same bytes
// fed at once and fed in pieces (of a size the input's first byte picks) give the same requests, the
// same body problems and the same failure: how TCP cuts a stream must never change how it is read. A
// failure is 400 or 431 with a message key; a request the parser takes has a method of token characters
// and a target without spaces or controls, and a body within the limit unless it is marked too large.
#include "FuzzSupport.h"

#include "http/HttpRequestParser.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

using identity::host::BodyProblem;
using identity::host::HttpRequest;
using identity::host::HttpRequestParser;

namespace
{
HttpRequestParser::Limits limits()
{
    HttpRequestParser::Limits limits;
    limits.maxHeadBytes = 1024;
    limits.maxFields = 16;
    limits.maxBodyBytes = 256;
    return limits;
}

/// What the parser made of a stream: each request taken, then the failure (or "more").
std::vector<std::string> parse(const std::string& input, std::size_t piece)
{
    std::vector<std::string> outcomes;
    HttpRequestParser parser(limits());
    std::size_t at = 0;
    bool ended = false;
    while (!ended)
    {
        const std::size_t size = std::min(piece, input.size() - at);
        parser.append(input.data() + at, size);
        at += size;
        for (;;)
        {
            const HttpRequestParser::Result result = parser.advance();
            if (result == HttpRequestParser::Result::NeedMore)
            {
                if (at == input.size())
                {
                    outcomes.push_back(parser.started() ? "more" : "idle");
                    ended = true;
                }
                break;
            }
            if (result == HttpRequestParser::Result::Failed)
            {
                FUZZ_REQUIRE(parser.failureStatus() == 400 || parser.failureStatus() == 431);
                FUZZ_REQUIRE(!parser.failureKey().empty());
                outcomes.push_back("failed " + std::to_string(parser.failureStatus()) + " " + parser.failureKey());
                ended = true;
                break;
            }
            const HttpRequest request = parser.take();
            FUZZ_REQUIRE(!request.head.method.empty() && request.head.method.size() <= 32);
            for (unsigned char c : request.head.method)
                FUZZ_REQUIRE(c > 0x20 && c < 0x7f && !std::strchr("()<>@,;:\\\"/[]?={}", c));
            for (unsigned char c : request.head.target)
                FUZZ_REQUIRE(c > 0x20 && c != 0x7f);
            if (request.problem != BodyProblem::TooLarge)
                FUZZ_REQUIRE(request.body.size() <= limits().maxBodyBytes);
            if (request.problem != BodyProblem::None)
                FUZZ_REQUIRE(!request.keepAlive);
            std::string summary = request.head.method + " " + request.head.target + " " +
                                  std::to_string(request.head.minorVersion) + " " +
                                  std::to_string(static_cast<int>(request.problem)) + " " +
                                  std::to_string(request.keepAlive) + " " + std::to_string(request.head.fields.size()) +
                                  " [" + request.body + "]";
            for (const auto& [name, value] : request.head.fields)
                summary += " " + name + ":" + value;
            outcomes.push_back(summary);
            if (!request.keepAlive)
            {
                ended = true; // the front answers and closes: nothing after it is read
                break;
            }
        }
        if (at == input.size() && !ended)
        {
            outcomes.push_back(parser.started() ? "more" : "idle");
            ended = true;
        }
    }
    return outcomes;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    const std::size_t piece = 1 + data[0] % 7;
    const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::vector<std::string> whole = parse(input, input.size() + 1);
    const std::vector<std::string> pieces = parse(input, piece);
    FUZZ_REQUIRE(whole == pieces);
    return 0;
}

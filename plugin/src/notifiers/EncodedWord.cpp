#include "notifiers/EncodedWord.h"

#include <Poco/Base64Encoder.h>

#include <sstream>

namespace identity::reauth
{

std::string base64(const std::string& bytes)
{
    std::ostringstream out;
    Poco::Base64Encoder encoder(out);
    encoder.rdbuf()->setLineLength(0);
    encoder << bytes;
    encoder.close();
    return out.str();
}

namespace
{
std::size_t sequenceLength(unsigned char lead)
{
    if (lead < 0x80)
        return 1;
    if ((lead & 0xe0) == 0xc0)
        return 2;
    if ((lead & 0xf0) == 0xe0)
        return 3;
    if ((lead & 0xf8) == 0xf0)
        return 4;
    return 1; // a stray byte: keep it alone
}
} // namespace

std::string encodeHeaderWord(const std::string& utf8)
{
    std::string text;
    bool plain = true;
    for (char c : utf8)
    {
        if (c == '\r' || c == '\n')
            continue;
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x80 || byte < 0x20 || byte == 0x7f || c == '=' || c == '?')
            plain = false;
        text += c;
    }
    if (plain)
        return text;

    // An encoded word is at most 75 characters: "=?UTF-8?B?" + base64 + "?=" leaves 63 for base64,
    // that is 45 bytes of text, cut at character boundaries.
    constexpr std::size_t maxChunk = 45;
    std::string result;
    std::size_t i = 0;
    while (i < text.size())
    {
        std::size_t end = i;
        while (end < text.size())
        {
            const std::size_t length = sequenceLength(static_cast<unsigned char>(text[end]));
            if (end + length - i > maxChunk)
                break;
            end += length;
        }
        if (end == i)
            end = text.size() < i + maxChunk ? text.size() : i + maxChunk;
        if (!result.empty())
            result += " "; // whitespace between encoded words is ignored when decoding
        result += "=?UTF-8?B?" + base64(text.substr(i, end - i)) + "?=";
        i = end;
    }
    return result;
}

} // namespace identity::reauth

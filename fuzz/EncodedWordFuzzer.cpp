// The RFC 2047 header encoder (encodeHeaderWord) on arbitrary bytes. Properties: CR and LF never come
// out; plain text comes back as it is (less CR and LF) and is printable ASCII without `=` or `?`;
// anything else becomes encoded words `=?UTF-8?B?…?=`, one space apart, each at most 75 characters,
// all ASCII, whose decoded bytes put together are the input (less CR and LF), and, when the input is
// valid UTF-8, each word's bytes are valid UTF-8 on their own (no character split across words).
#include "FuzzSupport.h"

#include "notifiers/EncodedWord.h"

#include <Poco/Base64Decoder.h>

#include <sstream>

namespace
{
std::string decodeBase64(const std::string& text)
{
    std::istringstream in(text);
    Poco::Base64Decoder decoder(in);
    std::string bytes;
    char c;
    while (decoder.get(c))
        bytes += c;
    return bytes;
}

bool validUtf8(const std::string& text)
{
    std::size_t i = 0;
    while (i < text.size())
    {
        const auto lead = static_cast<unsigned char>(text[i]);
        std::size_t length = 0;
        unsigned int code = 0;
        if (lead < 0x80)
            length = 1, code = lead;
        else if ((lead & 0xe0) == 0xc0)
            length = 2, code = lead & 0x1f;
        else if ((lead & 0xf0) == 0xe0)
            length = 3, code = lead & 0x0f;
        else if ((lead & 0xf8) == 0xf0)
            length = 4, code = lead & 0x07;
        else
            return false;
        if (i + length > text.size())
            return false;
        for (std::size_t k = 1; k < length; ++k)
        {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xc0) != 0x80)
                return false;
            code = (code << 6) | (next & 0x3f);
        }
        static const unsigned int least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (code < least[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
            return false;
        i += length;
    }
    return true;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size)
{
    const std::string input(reinterpret_cast<const char*>(data), size);
    std::string stripped;
    for (char c : input)
        if (c != '\r' && c != '\n')
            stripped += c;
    const std::string output = identity::reauth::encodeHeaderWord(input);
    FUZZ_REQUIRE(output.find('\r') == std::string::npos && output.find('\n') == std::string::npos);
    for (char c : output)
        FUZZ_REQUIRE(static_cast<unsigned char>(c) < 0x80);

    bool plain = true;
    for (char c : stripped)
    {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x80 || byte < 0x20 || byte == 0x7f || c == '=' || c == '?')
            plain = false;
    }
    if (plain)
    {
        FUZZ_REQUIRE(output == stripped);
        return 0;
    }

    const std::string prefix = "=?UTF-8?B?", suffix = "?=";
    const bool utf8 = validUtf8(stripped);
    std::string decoded;
    std::size_t i = 0;
    while (i < output.size())
    {
        if (i > 0)
        {
            FUZZ_REQUIRE(output[i] == ' ');
            ++i;
        }
        std::size_t end = output.find(' ', i);
        if (end == std::string::npos)
            end = output.size();
        const std::string word = output.substr(i, end - i);
        FUZZ_REQUIRE(word.size() <= 75);
        FUZZ_REQUIRE(word.size() > prefix.size() + suffix.size());
        FUZZ_REQUIRE(word.compare(0, prefix.size(), prefix) == 0);
        FUZZ_REQUIRE(word.compare(word.size() - suffix.size(), suffix.size(), suffix) == 0);
        const std::string payload = word.substr(prefix.size(), word.size() - prefix.size() - suffix.size());
        for (char c : payload)
            FUZZ_REQUIRE(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=');
        const std::string bytes = decodeBase64(payload);
        if (utf8)
            FUZZ_REQUIRE(validUtf8(bytes));
        decoded += bytes;
        i = end;
    }
    FUZZ_REQUIRE(decoded == stripped);
    return 0;
}

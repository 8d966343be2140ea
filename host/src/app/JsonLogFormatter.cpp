#include "app/JsonLogFormatter.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Object.h>
#include <Poco/Message.h>

#include <sstream>

namespace identity::host
{

namespace
{
const char* levelName(Poco::Message::Priority priority)
{
    switch (priority)
    {
    case Poco::Message::PRIO_FATAL: return "fatal";
    case Poco::Message::PRIO_CRITICAL: return "critical";
    case Poco::Message::PRIO_ERROR: return "error";
    case Poco::Message::PRIO_WARNING: return "warning";
    case Poco::Message::PRIO_NOTICE: return "notice";
    case Poco::Message::PRIO_INFORMATION: return "info";
    case Poco::Message::PRIO_DEBUG: return "debug";
    default: return "trace";
    }
}

std::string quoted(const std::string& value)
{
    std::ostringstream out;
    Poco::JSON::Object holder;
    holder.set("v", value);
    holder.stringify(out);
    const std::string text = out.str(); // {"v":"…"}
    return text.substr(5, text.size() - 6);
}
} // namespace

std::string JsonLogFormatter::validUtf8(const std::string& text)
{
    // RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF. A byte that starts no valid
    // sequence becomes U+FFFD, and the scan goes on from the next byte.
    std::string out;
    out.reserve(text.size());
    const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t size = text.size();
    for (std::size_t at = 0; at < size;)
    {
        const unsigned char lead = bytes[at];
        std::size_t length = 0;
        unsigned char low = 0x80, high = 0xBF; // the allowed range of the second byte
        if (lead < 0x80)
            length = 1;
        else if (lead >= 0xC2 && lead <= 0xDF)
            length = 2;
        else if (lead >= 0xE0 && lead <= 0xEF)
        {
            length = 3;
            if (lead == 0xE0)
                low = 0xA0;
            else if (lead == 0xED)
                high = 0x9F;
        }
        else if (lead >= 0xF0 && lead <= 0xF4)
        {
            length = 4;
            if (lead == 0xF0)
                low = 0x90;
            else if (lead == 0xF4)
                high = 0x8F;
        }
        bool valid = length > 0 && at + length <= size;
        for (std::size_t i = 1; valid && i < length; ++i)
        {
            const unsigned char next = bytes[at + i];
            valid = i == 1 ? next >= low && next <= high : next >= 0x80 && next <= 0xBF;
        }
        if (valid)
        {
            out.append(text, at, length);
            at += length;
        }
        else
        {
            out += "\xEF\xBF\xBD";
            ++at;
        }
    }
    return out;
}

void JsonLogFormatter::format(const Poco::Message& message, std::string& text)
{
    text = "{\"time\":\"" + Poco::DateTimeFormatter::format(message.getTime(), "%Y-%m-%dT%H:%M:%S.%iZ") +
           "\",\"level\":\"" + levelName(message.getPriority()) + "\",\"logger\":" + quoted(message.getSource());
    const std::string& body = message.getText();
    // Only the host's own loggers hand over pre-built JSON objects; they are built with Poco::JSON.
    if (message.getSource().rfind("identity.", 0) == 0 && body.size() > 2 && body.front() == '{' && body.back() == '}' && body.find('\n') == std::string::npos)
        text += "," + body.substr(1);
    else
        text += ",\"message\":" + quoted(body) + "}";
    // Whatever bytes a client sent (a path of `%ff%fe` decodes to them), the line stays valid JSON: only
    // strings can hold bytes above 0x7f, and U+FFFD in a string is valid.
    text = validUtf8(text);
}

} // namespace identity::host

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
}

} // namespace identity::host

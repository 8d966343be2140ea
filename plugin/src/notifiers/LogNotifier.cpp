#include "notifiers/LogNotifier.h"

#include <Poco/DateTimeFormatter.h>
#include <Poco/File.h>
#include <Poco/JSON/Object.h>
#include <Poco/Path.h>
#include <Poco/Timestamp.h>

#include <cerrno>
#include <fcntl.h>
#include <sstream>
#include <unistd.h>

namespace identity::reauth
{

LogNotifier::LogNotifier(const Poco::Util::AbstractConfiguration& config) : _path(config.getString("path", "var/sms.log"))
{
    const Poco::Path parent = Poco::Path(_path).parent();
    if (!parent.toString().empty())
        Poco::File(parent).createDirectories();
}

void LogNotifier::send(const sdk::Message& message)
{
    Poco::JSON::Object line;
    line.set("time", Poco::DateTimeFormatter::format(Poco::Timestamp(), "%Y-%m-%dT%H:%M:%S.%iZ"));
    line.set("id", message.id);
    line.set("channel", message.channel);
    line.set("to", message.to);
    if (!message.subject.empty())
        line.set("subject", message.subject);
    line.set("text", message.text);
    std::ostringstream text;
    line.stringify(text);
    const std::string record = text.str() + "\n";

    std::lock_guard<std::mutex> lock(_mutex);
    // O_APPEND with one write(2) per line: lines from several processes never interleave.
    const int fd = ::open(_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0)
        throw sdk::DeliveryError("log notifier: cannot open " + _path, true);
    const ssize_t written = ::write(fd, record.data(), record.size());
    ::close(fd);
    if (written != static_cast<ssize_t>(record.size()))
        throw sdk::DeliveryError("log notifier: short write to " + _path, true);
}

} // namespace identity::reauth

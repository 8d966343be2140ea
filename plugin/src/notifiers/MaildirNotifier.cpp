#include "notifiers/MaildirNotifier.h"

#include "notifiers/MailComposer.h"

#include <Poco/File.h>
#include <Poco/Path.h>
#include <Poco/Timestamp.h>

#include <fcntl.h>
#include <unistd.h>

namespace identity::reauth
{

MaildirNotifier::MaildirNotifier(const Poco::Util::AbstractConfiguration& config)
    : _path(config.getString("path", "var/mail")), _from(config.getString("from", "no-reply@localhost"))
{
    Poco::File(_path).createDirectories();
}

void MaildirNotifier::send(const sdk::Message& message)
{
    try
    {
        const std::string name = std::to_string(Poco::Timestamp().epochMicroseconds()) + "-" + message.id;
        const std::string temporary = Poco::Path(_path, "." + name + ".tmp").toString();
        const std::string content = MailComposer::render(message, _from);
        // The message holds a live code: readable by the owner only.
        const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0)
            throw sdk::DeliveryError("maildir: cannot create a file in " + _path, true);
        const bool written = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
        ::close(fd);
        if (!written)
        {
            ::unlink(temporary.c_str());
            throw sdk::DeliveryError("maildir: short write in " + _path, true);
        }
        Poco::File(temporary).renameTo(Poco::Path(_path, name + ".eml").toString());
    }
    catch (const Poco::Exception& error)
    {
        // A full disk or a missing folder may clear up; the worker retries while the code lives.
        throw sdk::DeliveryError("maildir: " + error.displayText(), true);
    }
}

} // namespace identity::reauth

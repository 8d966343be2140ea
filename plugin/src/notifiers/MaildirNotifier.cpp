#include "notifiers/MaildirNotifier.h"

#include "notifiers/MailComposer.h"

#include <Poco/File.h>
#include <Poco/Path.h>
#include <Poco/Timestamp.h>

#include <atomic>
#include <cstdio>

#include <fcntl.h>
#include <unistd.h>

namespace identity::reauth
{

namespace
{
std::atomic<unsigned long> deliveries{0};

std::string maildirHost()
{
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0')
        return "localhost";
    std::string escaped;
    for (const char* c = name; *c; ++c)
        escaped += *c == '/' ? std::string("\\057") : *c == ':' ? std::string("\\072") : std::string(1, *c);
    return escaped;
}
} // namespace

MaildirNotifier::MaildirNotifier(const Poco::Util::AbstractConfiguration& config)
    : _path(config.getString("path", "var/mail")), _from(config.getString("from", "no-reply@localhost")),
      _host(maildirHost())
{
    for (const char* folder : {"tmp", "new", "cur"})
        Poco::File(Poco::Path(_path, folder)).createDirectories();
}

void MaildirNotifier::send(const sdk::Message& message)
{
    try
    {
        const Poco::Int64 now = Poco::Timestamp().epochMicroseconds();
        char unique[96];
        std::snprintf(unique, sizeof unique, "%lld.M%06lldP%ldQ%lu", static_cast<long long>(now / 1000000),
                      static_cast<long long>(now % 1000000), static_cast<long>(::getpid()), ++deliveries);
        const std::string name = std::string(unique) + "." + _host;
        const std::string temporary = Poco::Path(Poco::Path(_path, "tmp"), name).toString();
        const std::string content = MailComposer::render(message, _from);
        // The message holds a live code: readable by the owner only.
        const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            throw sdk::DeliveryError("maildir: cannot create a file in " + _path + "/tmp", true);
        // On disk before it is in new/, and before the outbox records it delivered.
        const bool written = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
                             ::fsync(fd) == 0;
        ::close(fd);
        if (!written || ::rename(temporary.c_str(), Poco::Path(Poco::Path(_path, "new"), name).toString().c_str()) != 0)
        {
            ::unlink(temporary.c_str());
            throw sdk::DeliveryError("maildir: cannot write a message into " + _path, true);
        }
    }
    catch (const Poco::Exception& error)
    {
        // A full disk or a missing folder may clear up; the worker retries while the code lives.
        throw sdk::DeliveryError("maildir: " + error.displayText(), true);
    }
}

} // namespace identity::reauth

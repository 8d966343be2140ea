#include "notifiers/MaildirNotifier.h"

#include "notifiers/EncodedWord.h"

#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/Net/MailMessage.h>
#include <Poco/Net/MailRecipient.h>
#include <Poco/Net/StringPartSource.h>
#include <Poco/Path.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <fcntl.h>
#include <unistd.h>
#include <sstream>

namespace identity::reauth
{

namespace
{
/// RFC 5322 lines end in CRLF, also inside a quoted-printable body.
std::string withCrlf(const std::string& text)
{
    std::string out;
    out.reserve(text.size() + text.size() / 16);
    for (std::size_t i = 0; i < text.size(); ++i)
    {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
            out += '\r';
        out += text[i];
    }
    return out;
}

std::string withoutLineBreaks(std::string value)
{
    value.erase(std::remove_if(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n'; }), value.end());
    return value;
}
} // namespace

MaildirNotifier::MaildirNotifier(const Poco::Util::AbstractConfiguration& config)
    : _path(config.getString("path", "var/mail")), _from(config.getString("from", "no-reply@localhost"))
{
    Poco::File(_path).createDirectories();
}

std::string MaildirNotifier::render(const sdk::Message& message, const std::string& from)
{
    Poco::Net::MailMessage mail;
    mail.setSender(withoutLineBreaks(from));
    mail.addRecipient(Poco::Net::MailRecipient(Poco::Net::MailRecipient::PRIMARY_RECIPIENT, withoutLineBreaks(message.to)));
    mail.setSubject(encodeHeaderWord(message.subject));
    mail.setDate(Poco::Timestamp());
    mail.set("Message-ID", "<" + withoutLineBreaks(message.id) + "@identity-host>");
    mail.set("Auto-Submitted", "auto-generated");
    mail.setContentType("multipart/alternative");
    mail.addPart("text", new Poco::Net::StringPartSource(withCrlf(message.text), "text/plain; charset=UTF-8"),
                 Poco::Net::MailMessage::CONTENT_INLINE, Poco::Net::MailMessage::ENCODING_QUOTED_PRINTABLE);
    if (!message.html.empty())
        mail.addPart("html", new Poco::Net::StringPartSource(withCrlf(message.html), "text/html; charset=UTF-8"),
                     Poco::Net::MailMessage::CONTENT_INLINE, Poco::Net::MailMessage::ENCODING_QUOTED_PRINTABLE);
    std::ostringstream out;
    mail.write(out);
    return out.str();
}

void MaildirNotifier::send(const sdk::Message& message)
{
    try
    {
        const std::string name = std::to_string(Poco::Timestamp().epochMicroseconds()) + "-" + message.id;
        const std::string temporary = Poco::Path(_path, "." + name + ".tmp").toString();
        const std::string content = render(message, _from);
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

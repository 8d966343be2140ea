#include "notifiers/MailComposer.h"

#include "notifiers/EncodedWord.h"

#include <Poco/Net/MailRecipient.h>
#include <Poco/Net/StringPartSource.h>
#include <Poco/Timestamp.h>

#include <algorithm>
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

void MailComposer::compose(const sdk::Message& message, const std::string& from, Poco::Net::MailMessage& mail)
{
    mail.setSender(withoutLineBreaks(from));
    mail.addRecipient(
        Poco::Net::MailRecipient(Poco::Net::MailRecipient::PRIMARY_RECIPIENT, withoutLineBreaks(message.to)));
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
}

std::string MailComposer::render(const sdk::Message& message, const std::string& from)
{
    Poco::Net::MailMessage mail;
    compose(message, from, mail);
    std::ostringstream out;
    mail.write(out);
    return out.str();
}

} // namespace identity::reauth

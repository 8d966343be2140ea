#pragma once

#include "identity/sdk/Notifier.h"

#include <Poco/Net/MailMessage.h>

#include <string>

namespace identity::reauth
{

/// Builds the RFC 5322 message for an email: UTF-8 plain text with an HTML alternative, both
/// quoted-printable with CRLF line ends, an RFC 2047 subject that never splits a character, and no
/// header value able to carry a line break. Shared by the maildir and SMTP notifiers.
class MailComposer
{
public:
    static void compose(const sdk::Message& message, const std::string& from, Poco::Net::MailMessage& mail);

    /// The same message as RFC 5322 text.
    static std::string render(const sdk::Message& message, const std::string& from);
};

} // namespace identity::reauth

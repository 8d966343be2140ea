#pragma once

#include "identity/sdk/Notifier.h"

#include <string>

namespace identity::reauth
{

/// Development email, as a real Maildir: `path/tmp`, `path/new` and `path/cur`. Each message (RFC 5322,
/// UTF-8 text and HTML alternative) is written under a unique name into `tmp/`, flushed to disk, then
/// renamed into `new/`, so a mail reader (mutt, Python's `mailbox.Maildir`) never sees half a message.
/// Names: `<seconds>.M<microseconds>P<pid>Q<n>.<host>`, zero-padded so that they sort by time.
/// Configuration: `path` (default var/mail), `from`.
class MaildirNotifier : public sdk::Notifier
{
public:
    explicit MaildirNotifier(const Poco::Util::AbstractConfiguration& config);

    void send(const sdk::Message& message) override;

private:
    std::string _path;
    std::string _from;
    std::string _host; ///< this machine's name, with `/` and `:` escaped as Maildir asks
};

} // namespace identity::reauth

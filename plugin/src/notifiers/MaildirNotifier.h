#pragma once

#include "identity/sdk/Notifier.h"

#include <string>

namespace identity::reauth
{

/// Development email: each message becomes one RFC 5322 `.eml` file (UTF-8 text and HTML alternative)
/// in a folder, written under a temporary name and renamed, so a reader never sees half a message.
/// Configuration: `path` (default var/mail), `from`.
class MaildirNotifier : public sdk::Notifier
{
public:
    explicit MaildirNotifier(const Poco::Util::AbstractConfiguration& config);

    void send(const sdk::Message& message) override;

private:
    std::string _path;
    std::string _from;
};

} // namespace identity::reauth

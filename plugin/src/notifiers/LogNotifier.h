#pragma once

#include "identity/sdk/Notifier.h"

#include <mutex>
#include <string>

namespace identity::reauth
{

/// Development sink for either channel: appends one JSON line per message (`time`, `id`, `channel`,
/// `to`, `subject`, `text`) to a file. The file is the "phone" or "inbox", not a log: it holds codes,
/// so keep it out of log collection. Configuration: `path` (default var/sms.log).
class LogNotifier : public sdk::Notifier
{
public:
    explicit LogNotifier(const Poco::Util::AbstractConfiguration& config);

    void send(const sdk::Message& message) override;

private:
    std::string _path;
    std::mutex _mutex;
};

} // namespace identity::reauth

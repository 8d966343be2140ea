#include "delivery/OutboxCommands.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Exception.h>
#include <Poco/Timestamp.h>

namespace identity::reauth
{

namespace
{
constexpr int listLimit = 1000;

std::string when(Poco::Int64 seconds)
{
    return Poco::DateTimeFormatter::format(Poco::Timestamp::fromEpochTime(static_cast<std::time_t>(seconds)),
                                           Poco::DateTimeFormat::ISO8601_FORMAT);
}

sdk::AdminOutput output(const std::vector<Outbox::Listed>& messages)
{
    sdk::AdminOutput out;
    out.columns = {"id", "kind", "user_id", "channel", "destination", "status", "attempts", "next_attempt_at",
                   "last_error"};
    for (const Outbox::Listed& message : messages)
    {
        Poco::JSON::Object::Ptr row = new Poco::JSON::Object;
        row->set("id", message.id);
        row->set("kind", message.kind);
        row->set("user_id", message.userId);
        row->set("channel", message.channel);
        row->set("destination", message.destinationMasked);
        row->set("status", message.status);
        row->set("attempts", message.attempts);
        row->set("next_attempt_at", when(message.nextAttemptAt));
        row->set("last_error", message.lastError);
        row->set("created_at", when(message.createdAt));
        row->set("updated_at", when(message.updatedAt));
        out.rows->add(row);
    }
    return out;
}

void onlyOptions(const std::map<std::string, std::string>& options, std::initializer_list<const char*> known)
{
    for (const auto& [name, value] : options)
    {
        bool ok = false;
        for (const char* k : known)
            ok = ok || name == k;
        if (!ok)
            throw Poco::InvalidArgumentException("--" + name + " is not an option of this command");
    }
}
} // namespace

std::string OutboxList::summary() const
{
    return "[--status=unsent|failed|all] the outbox's messages, oldest first, addresses masked";
}

sdk::AdminOutput OutboxList::run(const std::map<std::string, std::string>& options)
{
    onlyOptions(options, {"status"});
    const auto status = options.find("status");
    return output(_outbox->list(status == options.end() ? "unsent" : status->second, listLimit));
}

std::string OutboxRetry::summary() const
{
    return "[--id=ID] pending messages (or the one) are sent at the running hosts' next poll, not after their backoff";
}

sdk::AdminOutput OutboxRetry::run(const std::map<std::string, std::string>& options)
{
    onlyOptions(options, {"id"});
    const auto id = options.find("id");
    const std::string which = id == options.end() ? std::string() : id->second;
    const auto messages = _outbox->retryNow(which, _clock.now());
    if (!which.empty() && messages.empty())
    {
        const std::string status = _outbox->status(which);
        if (status.empty())
            throw Poco::DataException("no message has the id " + which);
        throw Poco::DataException("message " + which + " is " + status +
                                  ": only a pending message can be retried (a finished one no longer holds its "
                                  "destination, nor a code its code)");
    }
    return output(messages);
}

} // namespace identity::reauth

#pragma once

#include "delivery/Outbox.h"

#include "identity/sdk/Clock.h"
#include "identity/sdk/Service.h"

#include <memory>

namespace identity::reauth
{

/// `identity-host outbox list [--status=unsent|failed|all]`: the outbox's messages, oldest first (at
/// most 1,000): id, kind, user, channel, masked destination, status, attempts, next attempt, last
/// error. Never a code or a full destination.
class OutboxList : public sdk::AdminCommand
{
public:
    explicit OutboxList(std::shared_ptr<Outbox> outbox) : _outbox(std::move(outbox)) {}

    std::string summary() const override;
    sdk::AdminOutput run(const std::map<std::string, std::string>& options) override;

private:
    std::shared_ptr<Outbox> _outbox;
};

/// `identity-host outbox retry [--id=ID]`: pending messages (all, or one) are due now, so that the
/// running hosts' delivery workers send them at their next poll instead of after their backoff (a
/// provider is back). A message already delivered, failed, expired or cancelled cannot be: it no
/// longer holds its code.
class OutboxRetry : public sdk::AdminCommand
{
public:
    OutboxRetry(std::shared_ptr<Outbox> outbox, const sdk::Clock& clock) : _outbox(std::move(outbox)), _clock(clock) {}

    std::string summary() const override;
    sdk::AdminOutput run(const std::map<std::string, std::string>& options) override;

private:
    std::shared_ptr<Outbox> _outbox;
    const sdk::Clock& _clock;
};

} // namespace identity::reauth

#pragma once

#include "codes/ReauthenticateSettings.h"
#include "delivery/Outbox.h"
#include "templates/MessageTemplates.h"

#include "identity/sdk/PluginContext.h"

#include <Poco/Event.h>
#include <Poco/Thread.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>

namespace identity::reauth
{

/// Sends what the outbox holds: claims due messages, opens their code, renders the template and hands
/// the message to the channel's notifier. A transient failure is retried with exponential backoff and
/// jitter while the code lives; a message whose code has expired is never sent and is recorded as
/// expired; a permanent failure is recorded. One thread, woken when a code is queued and otherwise
/// polling (other instances and retries).
class DeliveryWorker : public Poco::Runnable
{
public:
    DeliveryWorker(sdk::PluginContext& context, const ReauthenticateSettings& settings, std::shared_ptr<Outbox> outbox,
                   std::string outboxKey, std::map<std::string, sdk::NotifierPtr> notifiers,
                   MessageTemplates templates);
    ~DeliveryWorker() override;

    void start();
    void stop();

    /// Something was queued: look now rather than at the next poll.
    void wake() { _wakeUp.set(); }

    /// Processes every due message once (the thread's loop body; tests call it directly).
    void deliverDue();

    void run() override;

private:
    void deliver(OutboxMessage& message);

    sdk::PluginContext& _context;
    const ReauthenticateSettings _settings;
    std::shared_ptr<Outbox> _outbox;
    std::string _outboxKey;
    std::map<std::string, sdk::NotifierPtr> _notifiers;
    MessageTemplates _templates;
    Poco::Thread _thread;
    Poco::Event _wakeUp;
    std::atomic<bool> _stopping{false};
    Poco::Int64 _lastPrune = 0;
    bool _storageDown = false; // the last round met a database outage
};

} // namespace identity::reauth

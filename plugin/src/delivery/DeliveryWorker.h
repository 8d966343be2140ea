#pragma once

#include "codes/ReauthenticateSettings.h"
#include "delivery/Outbox.h"
#include "templates/MessageTemplates.h"

#include "identity/sdk/PluginContext.h"

#include <Poco/Event.h>
#include <Poco/JSON/Object.h>
#include <Poco/Thread.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace identity::reauth
{

/// Sends what the outbox holds: claims due messages, opens their code, renders the template and hands
/// the message to the channel's notifier. A transient failure is retried with exponential backoff and
/// jitter while the code lives; a message whose code has expired is never sent and is recorded as
/// expired; a permanent failure is recorded. One thread per channel (`filter`), so that a provider that
/// hangs holds up only its own channel, woken when a message for it is queued and otherwise polling (other
/// instances and retries). The outcomes of a batch are recorded together, in one unit
/// of work, at the end of the batch or once the oldest has waited a second (a slow provider). The
/// claim brings each message's code state; a message sent more than 100 ms after the claim has it
/// read again.
class DeliveryWorker : public Poco::Runnable
{
public:
    DeliveryWorker(sdk::PluginContext& context, const ReauthenticateSettings& settings, std::shared_ptr<Outbox> outbox,
                   std::string outboxKey, std::map<std::string, sdk::NotifierPtr> notifiers,
                   MessageTemplates templates, Outbox::ClaimFilter filter = {}, bool prunes = true);
    ~DeliveryWorker() override;

    void start();
    /// Stops the thread: a send in progress gets `graceMillis` to finish, then is cut short (see
    /// Interruptible) and handed back. requestStop() first, for several workers, lets them all finish
    /// within one grace.
    void stop(long graceMillis = 2000);
    void requestStop();

    /// Something was queued: look now rather than at the next poll.
    void wake() { _wakeUp.set(); }

    /// Processes every due message once (the thread's loop body; tests call it directly). `probe`: look
    /// by reading first, and claim (a write) only if something is due: for the timed polls, which mostly
    /// find nothing. A wake-up claims at once: it may come before the queuing unit of work committed (an
    /// account notice). On SQLite the claim, being a write, runs after that commit and finds the message;
    /// on PostgreSQL it may not, and the message goes at the next poll (`delivery.poll_ms`).
    void deliverDue(bool probe = false);

    void run() override;

private:
    /// Outcomes decided but not yet recorded, with the audit event each one leads to once it applies.
    struct Decided
    {
        std::vector<DeliveryOutcome> outcomes;
        std::vector<std::pair<std::string, Poco::JSON::Object>> events; ///< event name and fields
        Poco::Int64 since = 0;     ///< when the oldest was decided (ms)
        Poco::Int64 claimedAt = 0; ///< when the batch was claimed (ms)
    };

    void deliver(OutboxMessage& message, Decided& decided);
    /// Records what was decided in one unit of work, then audits the outcomes that applied.
    void record(Decided& decided);

    /// A message sent this long after its batch was claimed has its code's state read again first.
    static constexpr Poco::Int64 recheckMillis = 100;

    sdk::PluginContext& _context;
    const ReauthenticateSettings _settings;
    std::shared_ptr<Outbox> _outbox;
    std::string _outboxKey;
    std::map<std::string, sdk::NotifierPtr> _notifiers;
    MessageTemplates _templates;
    const Outbox::ClaimFilter _filter;
    const bool _prunes; ///< one worker of the plugin prunes the outbox
    Poco::Thread _thread;
    Poco::Event _wakeUp;
    std::atomic<bool> _stopping{false};
    bool _started = false; ///< start() ran and stop() has not joined yet (the controlling thread's own)
    Poco::Int64 _lastPrune = 0;
    bool _storageDown = false; // the last round met a database outage
};

} // namespace identity::reauth

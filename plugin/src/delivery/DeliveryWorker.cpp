#include "delivery/DeliveryWorker.h"

#include "codes/SendLimits.h"
#include "ReauthMetrics.h"
#include "notifiers/Interruptible.h"

#include "identity/sdk/Crypto.h"

#include <algorithm>

#include <pthread.h>

namespace identity::reauth
{

DeliveryWorker::DeliveryWorker(sdk::PluginContext& context, const ReauthenticateSettings& settings,
                               std::shared_ptr<Outbox> outbox,
                               std::string outboxKey, std::map<std::string, sdk::NotifierPtr> notifiers,
                               MessageTemplates templates, Outbox::ClaimFilter filter, bool prunes)
    : _context(context), _settings(settings), _outbox(std::move(outbox)), _outboxKey(std::move(outboxKey)),
      _notifiers(std::move(notifiers)), _templates(std::move(templates)), _filter(std::move(filter)), _prunes(prunes),
      _thread("reauth-" + (_filter.channel.empty() ? std::string("delivery") : _filter.channel)),
      _wakeUp(Poco::Event::EVENT_AUTORESET)
{
}

DeliveryWorker::~DeliveryWorker() { stop(); }

void DeliveryWorker::start()
{
    _stopping = false;
    _thread.start(*this);
    _started = true;
}

void DeliveryWorker::requestStop()
{
    _stopping = true;
    _wakeUp.set();
}

void DeliveryWorker::stop(long graceMillis)
{
    // Joined whenever it was started, also when it has already left run() (requestStop() came first):
    // only the join orders its last steps before this object's destruction.
    if (!_started)
        return;
    _started = false;
    requestStop();
    // A send in progress gets its grace to finish; one waiting on a provider that never answers is
    // then cut short (it fails as transient, and the message is handed back).
    if (_thread.tryJoin(graceMillis < 0 ? 0 : graceMillis))
        return;
    for (const auto& [channel, notifier] : _notifiers)
        if (auto* interruptible = dynamic_cast<Interruptible*>(notifier.get()))
            interruptible->interrupt();
    _thread.join();
}

void DeliveryWorker::run()
{
    // As top -H and perf show it (at most 15 characters).
    pthread_setname_np(pthread_self(), _thread.getName().substr(0, 15).c_str());
    bool woken = true;
    while (!_stopping)
    {
        try
        {
            deliverDue(!woken);
            if (_storageDown)
                _context.logger().information("delivery resumed: the database is reachable again");
            _storageDown = false;
        }
        catch (const sdk::StorageUnavailable& error)
        {
            // An outage: said once, not at every poll; the messages wait in the database.
            if (!_storageDown)
                _context.logger().warning("delivery paused: %s", error.why());
            _storageDown = true;
        }
        catch (const std::exception& error)
        {
            _context.logger().error("delivery round failed: %s", std::string(error.what()));
        }
        woken = _wakeUp.tryWait(_settings.pollMillis);
    }
}

void DeliveryWorker::deliverDue(bool probe)
{
    const Poco::Int64 now = _context.clock().now();
    for (bool first = true;; first = false)
    {
        if (first && probe && !_outbox->anyDue(now, _filter))
            break; // nothing for this worker: no write spent on finding that out
        Decided decided;
        decided.claimedAt = _context.clock().nowMillis(); // no later than the states the claim reads
        auto batch = _outbox->claimDue(_context.clock().now(), _settings.batch, _settings.leaseSeconds, _filter);
        for (auto& message : batch) // outcomes point into the batch until they are recorded
        {
            if (_stopping)
            {
                // Hand back what will not be sent now, rather than leave it until the lease runs out.
                if (decided.outcomes.empty())
                    decided.since = _context.clock().nowMillis();
                decided.outcomes.push_back(DeliveryOutcome{&message, DeliveryOutcome::Kind::Retry, "",
                                                           "the worker stopped", _context.clock().now()});
                decided.events.emplace_back();
                continue;
            }
            try
            {
                deliver(message, decided);
            }
            catch (...)
            {
                // The database went away mid-batch (a state check, a renewal): what was sent is still
                // recorded if it can be, not left to be sent again when the lease runs out.
                try
                {
                    record(decided);
                }
                catch (...)
                {
                }
                throw;
            }
            // A slow provider does not keep what was sent unrecorded for long (a crash would send it again).
            if (!decided.outcomes.empty() && _context.clock().nowMillis() - decided.since >= 1000)
                record(decided);
        }
        record(decided);
        if (_stopping)
            return;
        if (static_cast<int>(batch.size()) < _settings.batch)
            break;
    }
    if (_prunes && now - _lastPrune >= 60)
    {
        _outbox->prune(now, 1000);
        _lastPrune = now;
    }
}

void DeliveryWorker::record(Decided& decided)
{
    if (decided.outcomes.empty())
        return;
    const std::vector<bool> applied = _outbox->record(decided.outcomes, _context.clock().now());
    for (std::size_t i = 0; i < applied.size(); ++i)
        if (applied[i] && !decided.events[i].first.empty())
            _context.audit().record(decided.events[i].first, decided.outcomes[i].message->userId,
                                    decided.events[i].second);
    decided.outcomes.clear();
    decided.events.clear();
}

void DeliveryWorker::deliver(OutboxMessage& message, Decided& decided)
{
    const Poco::Int64 now = _context.clock().now();
    if (decided.outcomes.empty())
        decided.since = _context.clock().nowMillis();
    Poco::JSON::Object fields;
    fields.set("message_id", message.id);
    fields.set("channel", message.channel);
    fields.set("attempt", message.attempts);
    fields.set("destination", message.destinationMasked);
    auto decide = [&](DeliveryOutcome outcome, const std::string& event) {
        static const std::map<std::string, std::string> outcomes = {
            {"message_delivered", "delivered"}, {"delivery_retry", "retry"}, {"delivery_failed", "failed"},
            {"delivery_expired", "expired"}, {"delivery_cancelled", "cancelled"}};
        const auto named = outcomes.find(event);
        metrics::delivery(_context, message.channel, named == outcomes.end() ? event : named->second);
        outcome.message = &message;
        decided.outcomes.push_back(std::move(outcome));
        decided.events.emplace_back(event, std::move(fields));
    };
    auto finish = [&](const std::string& status, const std::string& event, const std::string& why) {
        fields.set("reason", why);
        decide(DeliveryOutcome{nullptr, DeliveryOutcome::Kind::Final, status, why, 0}, event);
    };

    const bool notice = message.kind != kinds::code;
    if (notice)
        fields.set("kind", message.kind);
    if (now >= message.expiresAt || (!notice && message.sealedCode.empty()))
        return finish("expired", "delivery_expired",
                      notice ? "the notice expired before delivery" : "the code expired before delivery");
    // A code replaced, spent or burned meanwhile is not worth a message: as of the claim, and again just
    // before the send once the claim is older than recheckMillis (earlier messages of the batch were
    // slow), so an account deleted or a code replaced during a slow batch gets nothing. A notice has no
    // code, and is sent whatever became of the account: that is what it is about.
    if (!notice && (message.codeState != "live" || (_context.clock().nowMillis() - decided.claimedAt >= recheckMillis &&
                                                    _outbox->codeState(message.codeId) != "live")))
        return finish("cancelled", "delivery_cancelled", "the code is no longer live");
    auto notifier = _notifiers.find(message.channel);
    if (notifier == _notifiers.end())
        return finish("failed", "delivery_failed", "no notifier for channel " + message.channel);
    sdk::Message rendered;
    if (notice)
    {
        auto text = _templates.renderNotice(message.kind, message.locale);
        if (!text) // written by a newer build, still starting during a reload: it will know the kind
        {
            const Poco::Int64 next = _context.clock().now() + 60;
            fields.set("retry_at", next);
            return decide(DeliveryOutcome{nullptr, DeliveryOutcome::Kind::Retry, "", "unknown kind " + message.kind, next},
                          "delivery_retry");
        }
        rendered = std::move(*text);
    }
    else
    {
        std::string code;
        try
        {
            code = sdk::crypto::aesGcmOpen(_outboxKey, sdk::crypto::base64UrlDecode(message.sealedCode), message.id);
        }
        catch (const Poco::Exception&)
        {
            // Sealed under another key (rotated without draining the outbox): it can never be sent.
            return finish("failed", "delivery_failed", "the sealed code does not open with the current key");
        }
        rendered = _templates.render(message.channel, message.locale, code, _settings.codeTtl / 60);
    }
    rendered.id = message.id;
    rendered.to = message.destination;
    // A claim more than half used (earlier messages of the batch were slow) may be taken over soon:
    // renewing it for the send proves it is still ours. A fresh one is ours for the whole send, and the
    // code's state was checked since the claim; renewing it would only add a write to every message.
    const Poco::Int64 renewAfter = message.leaseUntil - _settings.leaseSeconds / 2;
    if (_context.clock().now() >= renewAfter &&
        !_outbox->renewClaim(message, _context.clock().now() + _settings.leaseSeconds))
        return;
    try
    {
        notifier->second->send(rendered);
    }
    catch (const sdk::DeliveryError& error)
    {
        if (!error.transient())
            return finish("failed", "delivery_failed", error.what());
        // 1 s, 2 s, 4 s … up to the ceiling, each with up to half taken off at random so that retries of
        // many messages do not arrive together; never sooner than the provider asked (Retry-After).
        const int exponent = std::min(message.attempts - 1, 16);
        const Poco::Int64 backoff = std::min<Poco::Int64>(Poco::Int64(1) << exponent, _settings.maxBackoffSeconds);
        const Poco::Int64 jitter =
            static_cast<Poco::Int64>(_context.random().uniform(static_cast<std::uint32_t>(backoff / 2 + 1)));
        const Poco::Int64 delay = std::max<Poco::Int64>({1, backoff - jitter, error.retryAfter()});
        const Poco::Int64 next = _context.clock().now() + delay;
        fields.set("error", std::string(error.what()));
        fields.set("retry_at", next);
        return decide(DeliveryOutcome{nullptr, DeliveryOutcome::Kind::Retry, "", error.what(), next},
                      "delivery_retry");
    }
    catch (const std::exception& error)
    {
        return finish("failed", "delivery_failed", error.what());
    }
    // Sent. Recording it may still fail (the database): then the claim runs out and the message goes
    // out again, which is better than a code that never arrives.
    decide(DeliveryOutcome{nullptr, DeliveryOutcome::Kind::Delivered, "", "", 0}, "message_delivered");
}

} // namespace identity::reauth

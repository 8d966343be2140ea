#include "delivery/DeliveryWorker.h"

#include "codes/SendLimits.h"

#include "identity/sdk/Crypto.h"

#include <algorithm>

namespace identity::reauth
{

DeliveryWorker::DeliveryWorker(sdk::PluginContext& context, const ReauthenticateSettings& settings,
                               std::shared_ptr<Outbox> outbox,
                               std::string outboxKey, std::map<std::string, sdk::NotifierPtr> notifiers)
    : _context(context), _settings(settings), _outbox(std::move(outbox)), _outboxKey(std::move(outboxKey)),
      _notifiers(std::move(notifiers)), _templates(settings.productName), _thread("reauth-delivery"),
      _wakeUp(Poco::Event::EVENT_AUTORESET)
{
}

DeliveryWorker::~DeliveryWorker() { stop(); }

void DeliveryWorker::start()
{
    _stopping = false;
    _thread.start(*this);
}

void DeliveryWorker::stop()
{
    if (!_thread.isRunning())
        return;
    _stopping = true;
    _wakeUp.set();
    _thread.join();
}

void DeliveryWorker::run()
{
    while (!_stopping)
    {
        try
        {
            deliverDue();
        }
        catch (const std::exception& error)
        {
            // The database may be briefly unavailable: log and try again at the next round.
            _context.logger().error("delivery round failed: %s", std::string(error.what()));
        }
        _wakeUp.tryWait(_settings.pollMillis);
    }
}

void DeliveryWorker::deliverDue()
{
    const Poco::Int64 now = _context.clock().now();
    for (;;)
    {
        const auto batch = _outbox->claimDue(_context.clock().now(), _settings.batch, 60);
        for (const auto& message : batch)
        {
            if (_stopping)
                return;
            deliver(message);
        }
        if (static_cast<int>(batch.size()) < _settings.batch)
            break;
    }
    if (now - _lastPrune >= 60)
    {
        Poco::Data::Session session = _context.storage().session();
        SendLimits::prune(session, now);
        _lastPrune = now;
    }
}

void DeliveryWorker::deliver(const OutboxMessage& message)
{
    const Poco::Int64 now = _context.clock().now();
    Poco::JSON::Object fields;
    fields.set("message_id", message.id);
    fields.set("channel", message.channel);
    fields.set("attempt", message.attempts);
    if (now >= message.expiresAt || message.sealedCode.empty())
    {
        _outbox->markFinal(message.id, "expired", "the code expired before delivery", now);
        _context.audit().record("delivery_expired", message.userId, fields);
        return;
    }
    auto notifier = _notifiers.find(message.channel);
    std::string code;
    try
    {
        code = sdk::crypto::aesGcmOpen(_outboxKey, sdk::crypto::base64UrlDecode(message.sealedCode), message.id);
    }
    catch (const Poco::Exception&)
    {
        // Sealed under another key (rotated without draining the outbox): it can never be sent.
        _outbox->markFinal(message.id, "failed", "the sealed code does not open with the current key", now);
        _context.audit().record("delivery_failed", message.userId, fields);
        return;
    }
    if (notifier == _notifiers.end())
    {
        _outbox->markFinal(message.id, "failed", "no notifier for channel " + message.channel, now);
        _context.audit().record("delivery_failed", message.userId, fields);
        return;
    }

    sdk::Message rendered = _templates.render(message.channel, message.locale, code, _settings.codeTtl / 60);
    rendered.id = message.id;
    rendered.to = message.destination;
    try
    {
        notifier->second->send(rendered);
        _outbox->markDelivered(message.id, sdk::AuditLog::mask(message.destination), _context.clock().now());
        fields.set("destination", sdk::AuditLog::mask(message.destination));
        _context.audit().record("message_delivered", message.userId, fields);
        return;
    }
    catch (const sdk::DeliveryError& error)
    {
        fields.set("error", std::string(error.what()));
        if (error.transient())
        {
            // 1 s, 2 s, 4 s … up to the ceiling, each with up to 50 % taken off at random so that
            // retries from many messages do not arrive together.
            const int exponent = std::min(message.attempts - 1, 16);
            const Poco::Int64 backoff = std::min<Poco::Int64>(Poco::Int64(1) << exponent, _settings.maxBackoffSeconds);
            const Poco::Int64 jitter = static_cast<Poco::Int64>(_context.random().uniform(
                static_cast<std::uint32_t>(backoff / 2 + 1)));
            const Poco::Int64 next = _context.clock().now() + std::max<Poco::Int64>(1, backoff - jitter);
            _outbox->markRetry(message.id, next, error.what(), _context.clock().now());
            fields.set("retry_at", next);
            _context.audit().record("delivery_retry", message.userId, fields);
            return;
        }
        _outbox->markFinal(message.id, "failed", error.what(), _context.clock().now());
    }
    catch (const std::exception& error)
    {
        fields.set("error", std::string(error.what()));
        _outbox->markFinal(message.id, "failed", error.what(), _context.clock().now());
    }
    _context.audit().record("delivery_failed", message.userId, fields);
}

} // namespace identity::reauth

#include "delivery/Outbox.h"

#include <Poco/Data/RecordSet.h>

namespace identity::reauth
{

using namespace Poco::Data::Keywords;

Outbox::Outbox(sdk::Storage& storage) : _storage(storage) {}

void Outbox::enqueue(Poco::Data::Session& session, const OutboxMessage& m, Poco::Int64 timestamp)
{
    OutboxMessage message = m;
    Poco::Int64 at = timestamp;
    session << "INSERT INTO outbox(id, code_id, user_id, channel, destination, locale, payload, status, attempts, "
               "next_attempt_at, lease_until, expires_at, created_at, updated_at) "
               "VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, 0, $9, $10, $11)",
        use(message.id), use(message.codeId), use(message.userId), use(message.channel), use(message.destination),
        use(message.locale), use(message.sealedCode), use(at), use(message.expiresAt), use(at), bind(timestamp), now;
}

void Outbox::cancelPending(Poco::Data::Session& session, const std::string& userId, Poco::Int64 timestamp)
{
    std::string user = userId;
    Poco::Int64 at = timestamp;
    session << "UPDATE outbox SET status = 'cancelled', payload = NULL, updated_at = $1 "
               "WHERE user_id = $2 AND status = 'pending'",
        use(at), use(user), now;
}

std::vector<OutboxMessage> Outbox::claimDue(Poco::Int64 timestamp, int limit, int leaseSeconds)
{
    Poco::Data::Session session = _storage.session();
    sdk::WriteTransaction transaction(_storage, session);
    Poco::Int64 at = timestamp;
    int count = limit;
    Poco::Data::Statement select(session);
    select << "SELECT id, code_id, user_id, channel, destination, locale, payload, attempts, expires_at FROM outbox "
              "WHERE (status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND lease_until < $2) "
              "ORDER BY next_attempt_at LIMIT $3",
        use(at), bind(timestamp), use(count);
    select.execute();
    Poco::Data::RecordSet rows(select);
    std::vector<OutboxMessage> claimed;
    for (std::size_t i = 0; i < rows.rowCount(); ++i)
    {
        OutboxMessage message;
        message.id = rows.value(0, i).convert<std::string>();
        message.codeId = rows.value(1, i).convert<std::string>();
        message.userId = rows.value(2, i).convert<std::string>();
        message.channel = rows.value(3, i).convert<std::string>();
        message.destination = rows.value(4, i).convert<std::string>();
        message.locale = rows.value(5, i).convert<std::string>();
        message.sealedCode = rows.value(6, i).isEmpty() ? std::string() : rows.value(6, i).convert<std::string>();
        message.attempts = rows.value(7, i).convert<int>();
        message.expiresAt = rows.value(8, i).convert<Poco::Int64>();
        claimed.push_back(message);
    }
    Poco::Int64 lease = timestamp + leaseSeconds;
    for (auto& message : claimed)
        session << "UPDATE outbox SET status = 'sending', lease_until = $1, attempts = attempts + 1, updated_at = $2 "
                   "WHERE id = $3",
            use(lease), use(at), use(message.id), now;
    transaction.commit();
    for (auto& message : claimed)
        ++message.attempts;
    return claimed;
}

void Outbox::markDelivered(const std::string& id, const std::string& maskedDestination, Poco::Int64 timestamp)
{
    std::string key = id, masked = maskedDestination;
    Poco::Int64 at = timestamp;
    Poco::Data::Session session = _storage.session();
    session << "UPDATE outbox SET status = 'delivered', payload = NULL, destination = $1, updated_at = $2, "
               "last_error = '' WHERE id = $3",
        use(masked), use(at), use(key), now;
}

void Outbox::markRetry(const std::string& id, Poco::Int64 nextAttemptAt, const std::string& error, Poco::Int64 timestamp)
{
    std::string key = id, text = error.substr(0, 500);
    Poco::Int64 next = nextAttemptAt, at = timestamp;
    Poco::Data::Session session = _storage.session();
    session << "UPDATE outbox SET status = 'pending', next_attempt_at = $1, lease_until = 0, last_error = $2, "
               "updated_at = $3 WHERE id = $4 AND status = 'sending'",
        use(next), use(text), use(at), use(key), now;
}

void Outbox::markFinal(const std::string& id, const std::string& status, const std::string& error, Poco::Int64 timestamp)
{
    std::string key = id, state = status, text = error.substr(0, 500);
    Poco::Int64 at = timestamp;
    Poco::Data::Session session = _storage.session();
    session << "UPDATE outbox SET status = $1, payload = NULL, last_error = $2, updated_at = $3 WHERE id = $4",
        use(state), use(text), use(at), use(key), now;
}

void Outbox::eraseUser(Poco::Data::Session& session, const std::string& userId)
{
    std::string user = userId;
    session << "DELETE FROM outbox WHERE user_id = $1", use(user), now;
}

std::optional<std::string> Outbox::status(const std::string& id)
{
    std::string key = id, state;
    Poco::Data::Session session = _storage.session();
    session << "SELECT status FROM outbox WHERE id = $1", use(key), into(state), now;
    if (state.empty())
        return std::nullopt;
    return state;
}

} // namespace identity::reauth

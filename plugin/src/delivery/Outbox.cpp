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
    session << "INSERT INTO outbox(id, code_id, user_id, channel, destination, destination_masked, locale, payload, "
               "status, attempts, next_attempt_at, lease_until, expires_at, created_at, updated_at) "
               "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, 0, $10, $11, $12)",
        use(message.id), use(message.codeId), use(message.userId), use(message.channel), use(message.destination),
        use(message.destinationMasked), use(message.locale), use(message.sealedCode), use(at), use(message.expiresAt),
        bind(timestamp), bind(timestamp), now;
}

void Outbox::cancelUnsent(Poco::Data::Session& session, const std::string& userId, Poco::Int64 timestamp)
{
    std::string user = userId;
    Poco::Int64 at = timestamp;
    session << "UPDATE outbox SET status = 'cancelled', payload = NULL, destination = '', updated_at = $1 "
               "WHERE user_id = $2 AND status IN ('pending', 'sending')",
        use(at), use(user), now;
}

std::vector<OutboxMessage> Outbox::claimDue(Poco::Int64 timestamp, int limit, int leaseSeconds)
{
    Poco::Data::Session session = _storage.session();
    sdk::WriteTransaction transaction(_storage, session);
    Poco::Int64 at = timestamp;
    int count = limit;
    Poco::Data::Statement select(session);
    select << "SELECT id, code_id, user_id, channel, destination, destination_masked, locale, payload, attempts, "
              "expires_at FROM outbox "
              "WHERE (status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND lease_until < $2) "
              "ORDER BY next_attempt_at LIMIT $3",
        use(at), bind(timestamp), use(count);
    select.execute();
    Poco::Data::RecordSet rows(select);
    std::vector<OutboxMessage> claimed;
    const Poco::Int64 lease = timestamp + leaseSeconds;
    for (std::size_t i = 0; i < rows.rowCount(); ++i)
    {
        OutboxMessage message;
        message.id = rows.value(0, i).convert<std::string>();
        message.codeId = rows.value(1, i).convert<std::string>();
        message.userId = rows.value(2, i).convert<std::string>();
        message.channel = rows.value(3, i).convert<std::string>();
        message.destination = rows.value(4, i).convert<std::string>();
        message.destinationMasked = rows.value(5, i).convert<std::string>();
        message.locale = rows.value(6, i).convert<std::string>();
        message.sealedCode = rows.value(7, i).isEmpty() ? std::string() : rows.value(7, i).convert<std::string>();
        message.attempts = rows.value(8, i).convert<int>() + 1;
        message.expiresAt = rows.value(9, i).convert<Poco::Int64>();
        message.leaseUntil = lease;
        claimed.push_back(message);
    }
    // The due condition again: with several workers (instances, or two builds during a reload) on a
    // database without a global writer lock, only the one whose update changes the row owns it.
    std::vector<OutboxMessage> owned;
    for (auto& message : claimed)
    {
        Poco::Data::Statement claim(session);
        claim << "UPDATE outbox SET status = 'sending', lease_until = $1, attempts = attempts + 1, updated_at = $2 "
                 "WHERE id = $3 AND ((status = 'pending' AND next_attempt_at <= $4) OR "
                 "(status = 'sending' AND lease_until < $5))",
            bind(lease), use(at), use(message.id), bind(timestamp), bind(timestamp);
        if (claim.execute() == 1)
            owned.push_back(message);
    }
    transaction.commit();
    return owned;
}

namespace
{
/// Runs an outcome update guarded by the claim (`... WHERE id = $n AND status = 'sending' AND
/// lease_until = $n+1` ends the SQL) and tells whether it applied.
template <typename... Bindings>
bool recordOutcome(Poco::Data::Session& session, const std::string& sql, Bindings&&... bindings)
{
    Poco::Data::Statement statement(session);
    ((statement << sql), ..., std::forward<Bindings>(bindings));
    return statement.execute() == 1;
}
} // namespace

bool Outbox::markDelivered(const OutboxMessage& message, Poco::Int64 timestamp)
{
    Poco::Data::Session session = _storage.session();
    return recordOutcome(session,
                         "UPDATE outbox SET status = 'delivered', payload = NULL, destination = '', updated_at = $1, "
                         "last_error = '' WHERE id = $2 AND status = 'sending' AND lease_until = $3",
                         bind(timestamp), bind(message.id), bind(message.leaseUntil));
}

bool Outbox::markRetry(const OutboxMessage& message, Poco::Int64 nextAttemptAt, const std::string& error,
                       Poco::Int64 timestamp)
{
    Poco::Data::Session session = _storage.session();
    return recordOutcome(session,
                         "UPDATE outbox SET status = 'pending', next_attempt_at = $1, lease_until = 0, last_error = $2, "
                         "updated_at = $3 WHERE id = $4 AND status = 'sending' AND lease_until = $5",
                         bind(nextAttemptAt), bind(error.substr(0, 500)), bind(timestamp), bind(message.id),
                         bind(message.leaseUntil));
}

bool Outbox::markFinal(const OutboxMessage& message, const std::string& status, const std::string& error,
                       Poco::Int64 timestamp)
{
    Poco::Data::Session session = _storage.session();
    return recordOutcome(session,
                         "UPDATE outbox SET status = $1, payload = NULL, destination = '', last_error = $2, "
                         "updated_at = $3 WHERE id = $4 AND status = 'sending' AND lease_until = $5",
                         bind(status), bind(error.substr(0, 500)), bind(timestamp), bind(message.id),
                         bind(message.leaseUntil));
}

bool Outbox::renewClaim(OutboxMessage& message, Poco::Int64 leaseUntil)
{
    Poco::Data::Session session = _storage.session();
    if (!recordOutcome(session,
                       "UPDATE outbox SET lease_until = $1 WHERE id = $2 AND status = 'sending' AND lease_until = $3",
                       bind(leaseUntil), bind(message.id), bind(message.leaseUntil)))
        return false;
    message.leaseUntil = leaseUntil;
    return true;
}

std::string Outbox::recordReport(const std::string& id, const std::string& report, Poco::Int64 timestamp)
{
    std::string key = id, value = report, userId;
    Poco::Int64 at = timestamp;
    Poco::Data::Session session = _storage.session();
    // A final report is never overwritten by a later, lesser one (Kannel does not order its reports).
    session << "UPDATE outbox SET report = $1, reported_at = $2 WHERE id = $3 "
               "AND report NOT IN ('delivered', 'failed', 'rejected') RETURNING user_id",
        use(value), use(at), use(key), into(userId), now;
    return userId;
}

std::string Outbox::report(const std::string& id)
{
    std::string key = id, value;
    Poco::Data::Session session = _storage.session();
    session << "SELECT report FROM outbox WHERE id = $1", use(key), into(value), now;
    return value;
}

std::string Outbox::codeState(const std::string& codeId)
{
    std::string key = codeId, state;
    Poco::Data::Session session = _storage.session();
    session << "SELECT state FROM verification_codes WHERE id = $1", use(key), into(state), now;
    return state;
}

void Outbox::eraseUser(Poco::Data::Session& session, const std::string& userId)
{
    std::string user = userId;
    session << "DELETE FROM outbox WHERE user_id = $1", use(user), now;
}

} // namespace identity::reauth

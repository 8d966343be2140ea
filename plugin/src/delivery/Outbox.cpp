#include "delivery/Outbox.h"

#include "codes/SendLimits.h"

#include <Poco/Exception.h>

#include <algorithm>

namespace identity::reauth
{

using sdk::Value;

namespace
{
constexpr Poco::Int64 finishedRetentionSeconds = 7 * 24 * 3600;
constexpr Poco::Int64 expiredCodeRetentionSeconds = 3600;
} // namespace

Outbox::Outbox(sdk::Storage& storage) : _storage(storage) {}

void Outbox::enqueue(sdk::Transaction& transaction, const OutboxMessage& message, Poco::Int64 timestamp)
{
    transaction.execute(
        "INSERT INTO outbox(id, code_id, user_id, channel, destination, destination_masked, locale, payload, "
        "status, attempts, next_attempt_at, lease_until, expires_at, created_at, updated_at, kind) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, 0, $10, $11, $12, $13)",
        {Value(message.id), Value(message.codeId), Value(message.userId), Value(message.channel),
         Value(message.destination), Value(message.destinationMasked), Value(message.locale),
         Value(message.sealedCode), Value(timestamp), Value(message.expiresAt), Value(timestamp),
         Value(timestamp), Value(message.kind)});
}

void Outbox::cancelUnsent(sdk::Transaction& transaction, const std::string& userId, Poco::Int64 timestamp)
{
    transaction.execute(
        "UPDATE outbox SET status = 'cancelled', payload = NULL, destination = '', updated_at = $1 "
        "WHERE user_id = $2 AND status IN ('pending', 'sending') AND kind = 'code'",
        {Value(timestamp), Value(userId)});
}

std::string Outbox::channelClause(const ClaimFilter& filter, std::vector<Value>& parameters)
{
    std::string clause;
    if (!filter.channel.empty())
    {
        clause = " AND channel = $" + std::to_string(parameters.size() + 1);
        parameters.push_back(Value(filter.channel));
    }
    else if (!filter.except.empty())
    {
        clause = " AND channel NOT IN (";
        for (std::size_t i = 0; i < filter.except.size(); ++i)
        {
            clause += (i ? ", $" : "$") + std::to_string(parameters.size() + 1);
            parameters.push_back(Value(filter.except[i]));
        }
        clause += ")";
    }
    return clause;
}

bool Outbox::anyDue(Poco::Int64 timestamp, const ClaimFilter& filter)
{
    std::vector<Value> parameters{Value(timestamp)};
    const std::string channels = channelClause(filter, parameters);
    bool due = false;
    _storage.read(
        [&](sdk::Transaction& transaction)
        {
            // Two probes, each through its partial index (outbox_due, outbox_leased).
            due = !transaction
                       .execute("SELECT 1 FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1" + channels +
                                    " LIMIT 1",
                                parameters)
                       .empty() ||
                  !transaction
                       .execute("SELECT 1 FROM outbox WHERE status = 'sending' AND lease_until < $1" + channels +
                                    " LIMIT 1",
                                parameters)
                       .empty();
        });
    return due;
}

std::vector<OutboxMessage> Outbox::claimDue(Poco::Int64 timestamp, int limit, int leaseSeconds,
                                            const ClaimFilter& filter)
{
    const Poco::Int64 lease = timestamp + leaseSeconds;
    std::vector<Value> parameters{Value(lease), Value(timestamp), Value(timestamp), Value(timestamp), Value(limit)};
    const std::string channels = channelClause(filter, parameters);
    std::vector<OutboxMessage> claimed;
    _storage.write(
        [&](sdk::Transaction& transaction)
        {
            claimed.clear();
            // The due condition is checked by the update itself: of several workers (instances, or two
            // builds during a reload), only the one whose update changes a row owns it.
            const std::string skipLocked =
                transaction.dialect() == sdk::Dialect::PostgreSQL ? " FOR UPDATE SKIP LOCKED" : "";
            const sdk::Result rows = transaction.execute(
                "UPDATE outbox SET status = 'sending', lease_until = $1, attempts = attempts + 1, updated_at "
                "= $2 "
                "WHERE id IN (SELECT id FROM outbox WHERE ((status = 'pending' AND next_attempt_at <= $3) OR "
                "(status = 'sending' AND lease_until < $4))" + channels + " ORDER BY next_attempt_at LIMIT $5" +
                    skipLocked +
                    ") RETURNING id, code_id, user_id, channel, destination, destination_masked, locale, "
                    "payload, attempts, expires_at, "
                    "(SELECT state FROM verification_codes WHERE verification_codes.id = outbox.code_id), "
                    "next_attempt_at, kind",
                parameters);
            for (const sdk::Row& row : rows.rows)
            {
                OutboxMessage message;
                message.id = row.text(0);
                message.codeId = row.text(1);
                message.userId = row.text(2);
                message.channel = row.text(3);
                message.destination = row.text(4);
                message.destinationMasked = row.text(5);
                message.locale = row.text(6);
                message.sealedCode = row.text(7);
                message.attempts = static_cast<int>(row.integer(8));
                message.expiresAt = row.integer(9);
                message.leaseUntil = lease;
                message.codeState = row.text(10); // "" when the code is gone
                message.dueAt = row.integer(11);
                message.kind = row.text(12);
                claimed.push_back(std::move(message));
            }
        });
    // Sent in the order they fell due, oldest first (ids are time-ordered): an UPDATE's RETURNING
    // follows no ORDER BY, and PostgreSQL's does come back in another order.
    std::sort(claimed.begin(), claimed.end(), [](const OutboxMessage& a, const OutboxMessage& b) {
        return a.dueAt != b.dueAt ? a.dueAt < b.dueAt : a.id < b.id;
    });
    return claimed;
}

std::vector<bool> Outbox::record(const std::vector<DeliveryOutcome>& outcomes, Poco::Int64 timestamp)
{
    std::vector<bool> applied(outcomes.size(), false);
    if (outcomes.empty())
        return applied;
    _storage.write(
        [&](sdk::Transaction& transaction)
        {
            // Each update is guarded by the claim: it applies only while the message is still ours.
            for (std::size_t i = 0; i < outcomes.size(); ++i)
            {
                const DeliveryOutcome& outcome = outcomes[i];
                const OutboxMessage& message = *outcome.message;
                sdk::Result result;
                switch (outcome.kind)
                {
                case DeliveryOutcome::Kind::Delivered:
                    result = transaction.execute(
                        "UPDATE outbox SET status = 'delivered', payload = NULL, destination = '', updated_at = $1, "
                        "last_error = '' WHERE id = $2 AND status = 'sending' AND lease_until = $3",
                        {Value(timestamp), Value(message.id), Value(message.leaseUntil)});
                    break;
                case DeliveryOutcome::Kind::Retry:
                    result = transaction.execute(
                        "UPDATE outbox SET status = 'pending', next_attempt_at = $1, lease_until = 0, last_error = $2, "
                        "updated_at = $3 WHERE id = $4 AND status = 'sending' AND lease_until = $5",
                        {Value(outcome.nextAttemptAt), Value(outcome.error.substr(0, 500)), Value(timestamp),
                         Value(message.id), Value(message.leaseUntil)});
                    break;
                case DeliveryOutcome::Kind::Final:
                    result = transaction.execute(
                        "UPDATE outbox SET status = $1, payload = NULL, destination = '', last_error = $2, "
                        "updated_at = $3 WHERE id = $4 AND status = 'sending' AND lease_until = $5",
                        {Value(outcome.status), Value(outcome.error.substr(0, 500)), Value(timestamp),
                         Value(message.id), Value(message.leaseUntil)});
                    break;
                }
                applied[i] = result.affected == 1;
            }
        });
    return applied;
}

bool Outbox::markDelivered(const OutboxMessage& message, Poco::Int64 timestamp)
{
    return record({DeliveryOutcome{&message, DeliveryOutcome::Kind::Delivered, "", "", 0}}, timestamp).front();
}

bool Outbox::markRetry(const OutboxMessage& message, Poco::Int64 nextAttemptAt, const std::string& error,
                       Poco::Int64 timestamp)
{
    return record({DeliveryOutcome{&message, DeliveryOutcome::Kind::Retry, "", error, nextAttemptAt}}, timestamp)
        .front();
}

bool Outbox::markFinal(const OutboxMessage& message, const std::string& status, const std::string& error,
                       Poco::Int64 timestamp)
{
    return record({DeliveryOutcome{&message, DeliveryOutcome::Kind::Final, status, error, 0}}, timestamp).front();
}

bool Outbox::renewClaim(OutboxMessage& message, Poco::Int64 leaseUntil)
{
    bool applied = false;
    _storage.write(
        [&](sdk::Transaction& transaction)
        {
            applied = transaction
                          .execute("UPDATE outbox SET lease_until = $1 WHERE id = $2 AND status = 'sending' AND "
                                   "lease_until = $3",
                                   {Value(leaseUntil), Value(message.id), Value(message.leaseUntil)})
                          .affected == 1;
        });
    if (!applied)
        return false;
    message.leaseUntil = leaseUntil;
    return true;
}

std::string Outbox::recordReport(const std::string& id, const std::string& nonceHash, int status,
                                 const std::string& report, Poco::Int64 timestamp)
{
    std::string userId;
    _storage.write(
        [&](sdk::Transaction& transaction)
        {
            // A final report is never overwritten by a later one (Kannel does not order its reports, and
            // the status in a report URL is not signed); a type is taken once; the first accepted
            // report's nonce is the message's.
            const sdk::Result result = transaction.execute(
                "UPDATE outbox SET report = $1, reported_at = $2, report_nonce = $3, "
                "reports_seen = reports_seen | $4 WHERE id = $5 "
                "AND report NOT IN ('delivered', 'failed', 'rejected') AND report_nonce IN ('', $3) "
                "AND (reports_seen & $4) <> $4 RETURNING user_id",
                {Value(report), Value(timestamp), Value(nonceHash), Value(status), Value(id)});
            userId = result.empty() ? std::string() : result.front().text(0);
        });
    return userId;
}

std::string Outbox::report(const std::string& id)
{
    std::string value;
    _storage.read(
        [&](sdk::Transaction& transaction)
        {
            const sdk::Result result =
                transaction.execute("SELECT report FROM outbox WHERE id = $1", {Value(id)});
            value = result.empty() ? std::string() : result.front().text(0);
        });
    return value;
}

namespace
{
constexpr const char* listedColumns = "id, kind, user_id, channel, destination_masked, status, last_error, attempts, "
                                      "next_attempt_at, created_at, updated_at";

std::vector<Outbox::Listed> listed(const sdk::Result& result)
{
    std::vector<Outbox::Listed> messages;
    for (const sdk::Row& row : result.rows)
    {
        Outbox::Listed message;
        message.id = row.text(0);
        message.kind = row.text(1);
        message.userId = row.text(2);
        message.channel = row.text(3);
        message.destinationMasked = row.text(4);
        message.status = row.text(5);
        message.lastError = row.text(6);
        message.attempts = static_cast<int>(row.integer(7));
        message.nextAttemptAt = row.integer(8);
        message.createdAt = row.integer(9);
        message.updatedAt = row.integer(10);
        messages.push_back(std::move(message));
    }
    return messages;
}
} // namespace

std::vector<Outbox::Listed> Outbox::list(const std::string& which, int limit)
{
    std::string where;
    if (which == "unsent")
        where = "status IN ('pending', 'sending')";
    else if (which == "failed")
        where = "status IN ('failed', 'expired', 'cancelled')";
    else if (which == "all")
        where = "1 = 1";
    else
        throw Poco::InvalidArgumentException("the status must be unsent, failed or all");
    std::vector<Listed> messages;
    _storage.read(
        [&](sdk::Transaction& transaction)
        {
            messages = listed(transaction.execute(std::string("SELECT ") + listedColumns + " FROM outbox WHERE " +
                                                      where + " ORDER BY created_at, id LIMIT $1",
                                                  {Value(limit)}));
        });
    return messages;
}

Outbox::Depth Outbox::depth()
{
    Depth depth;
    _storage.read(
        [&](sdk::Transaction& transaction)
        {
            // Each through its partial index (outbox_due, outbox_leased): the finished rows are not read.
            const sdk::Result pending = transaction.execute(
                "SELECT COUNT(*), COALESCE(MIN(created_at), 0) FROM outbox WHERE status = 'pending'");
            depth.pending = pending.front().integer(0);
            depth.oldestPendingSince = pending.front().integer(1);
            depth.sending =
                transaction.execute("SELECT COUNT(*) FROM outbox WHERE status = 'sending'").front().integer(0);
        });
    return depth;
}

std::vector<Outbox::Listed> Outbox::retryNow(const std::string& id, Poco::Int64 timestamp)
{
    std::vector<Listed> messages;
    _storage.write(
        [&](sdk::Transaction& transaction)
        {
            messages = listed(transaction.execute(
                std::string("UPDATE outbox SET next_attempt_at = $1, updated_at = $1 WHERE status = 'pending' AND "
                            "($2 = '' OR id = $2) RETURNING ") +
                    listedColumns,
                {Value(timestamp), Value(id)}));
        });
    std::sort(messages.begin(), messages.end(),
              [](const Listed& a, const Listed& b) { return a.createdAt != b.createdAt ? a.createdAt < b.createdAt : a.id < b.id; });
    return messages;
}

std::string Outbox::status(const std::string& id)
{
    std::string value;
    _storage.read(
        [&](sdk::Transaction& transaction)
        {
            const sdk::Result result = transaction.execute("SELECT status FROM outbox WHERE id = $1", {Value(id)});
            value = result.empty() ? std::string() : result.front().text(0);
        });
    return value;
}

std::string Outbox::codeState(const std::string& codeId)
{
    std::string state;
    _storage.read(
        [&](sdk::Transaction& transaction)
        {
            const sdk::Result result =
                transaction.execute("SELECT state FROM verification_codes WHERE id = $1", {Value(codeId)});
            state = result.empty() ? std::string() : result.front().text(0);
        });
    return state;
}

void Outbox::eraseUser(sdk::Transaction& transaction, const std::string& userId)
{
    transaction.execute("DELETE FROM outbox WHERE user_id = $1", {Value(userId)});
}

std::size_t Outbox::prune(Poco::Int64 timestamp, int batch)
{
    std::size_t removed = 0;
    _storage.write(
        [&](sdk::Transaction& transaction)
        {
            removed = SendLimits::prune(transaction, timestamp, batch);
            removed +=
                transaction
                    .execute("DELETE FROM verification_codes WHERE id IN (SELECT id FROM verification_codes "
                             "WHERE expires_at < $1 LIMIT $2)",
                             {Value(timestamp - expiredCodeRetentionSeconds), Value(batch)})
                    .affected;
            removed +=
                transaction
                    .execute("DELETE FROM verification_failures WHERE user_id IN (SELECT user_id FROM "
                             "verification_failures WHERE consecutive = 0 AND locked_until < $1 LIMIT $2)",
                             {Value(timestamp), Value(batch)})
                    .affected;
            removed +=
                transaction
                    .execute(
                        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE status IN ('delivered', "
                        "'expired', 'failed', 'cancelled') AND updated_at < $1 LIMIT $2)",
                        {Value(timestamp - finishedRetentionSeconds), Value(batch)})
                    .affected;
        });
    return removed;
}

} // namespace identity::reauth

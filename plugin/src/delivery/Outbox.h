#pragma once

#include "identity/sdk/Storage.h"

#include <optional>
#include <string>
#include <vector>

namespace identity::reauth
{

/// What an outbox message is: a reauthentication code, or an account notice (no code, no secret).
namespace kinds
{
constexpr const char* code = "code";
constexpr const char* passwordChanged = "password_changed";
constexpr const char* accountDeleted = "account_deleted";
} // namespace kinds

/// A message in the outbox; `sealedCode` is the code under AES-256-GCM, bound to the row id (empty for
/// a notice).
struct OutboxMessage
{
    std::string id;
    std::string kind = kinds::code;
    std::string codeId;
    std::string userId;
    std::string channel;
    std::string destination;
    std::string destinationMasked;
    std::string locale;
    std::string sealedCode;
    int attempts = 0;
    Poco::Int64 expiresAt = 0;
    Poco::Int64 leaseUntil = 0; ///< the claim: only its holder may record the outcome
    std::string codeState;      ///< the code's state when claimed ("live", "used", …), empty when it is gone
    Poco::Int64 dueAt = 0;      ///< when it fell due (`next_attempt_at`): a batch is sent in that order
};

/// What became of a claimed message. Recorded with the other outcomes of its batch in one unit of work,
/// and only by the holder of the message's claim.
struct DeliveryOutcome
{
    enum class Kind
    {
        Delivered,
        Retry, ///< pending again from `nextAttemptAt`
        Final  ///< `status` is "expired", "failed" or "cancelled"
    };
    const OutboxMessage* message = nullptr;
    Kind kind = Kind::Delivered;
    std::string status;
    std::string error;
    Poco::Int64 nextAttemptAt = 0;
};

/// The `outbox` table: messages are written in the same transaction as their code, claimed by a
/// delivery worker with a lease (so a crashed worker's claims come back), and scrubbed of the code and
/// the full destination once delivered, expired, failed or cancelled. Outcomes are recorded only by the
/// holder of the current claim, so a cancelled or re-claimed message is never overwritten.
class Outbox
{
public:
    explicit Outbox(sdk::Storage& storage);

    /// Adds a message inside the caller's transaction.
    void enqueue(sdk::Transaction& transaction, const OutboxMessage& message, Poco::Int64 timestamp);

    /// A message as `identity-host outbox list` shows it: never the code nor the full destination.
    struct Listed
    {
        std::string id, kind, userId, channel, destinationMasked, status, lastError;
        int attempts = 0;
        Poco::Int64 nextAttemptAt = 0, createdAt = 0, updatedAt = 0;
    };

    /// Messages by state: "unsent" (pending or sending), "failed" (failed, expired or cancelled) or
    /// "all", oldest first, at most `limit`.
    std::vector<Listed> list(const std::string& which, int limit);

    /// The queue as /metrics shows it: messages pending and being sent, and when the oldest pending one
    /// was queued (0 when none is).
    struct Depth
    {
        Poco::Int64 pending = 0;
        Poco::Int64 sending = 0;
        Poco::Int64 oldestPendingSince = 0;
    };
    Depth depth();

    /// Makes pending messages due now (all, or the one with `id`), for the running workers to send at
    /// their next poll; returns them. Only pending ones: a finished message no longer holds its code.
    std::vector<Listed> retryNow(const std::string& id, Poco::Int64 timestamp);

    /// The state of one message, "" when there is none.
    std::string status(const std::string& id);

    /// Cancels the user's codes not yet sent (they were replaced), also one being sent; not notices.
    void cancelUnsent(sdk::Transaction& transaction, const std::string& userId, Poco::Int64 timestamp);

    /// Claims up to `limit` due messages for `leaseSeconds`, in one statement. On PostgreSQL the rows are
    /// taken with FOR UPDATE SKIP LOCKED, so workers on several instances claim disjoint batches without
    /// waiting for each other; a claim whose lease ran out (its worker died) is due again. The batch
    /// comes back in the order its messages fell due.
    /// Which messages a worker claims: those of `channel`, or, with `channel` empty, those of every
    /// channel but `except` (the channels other workers claim).
    struct ClaimFilter
    {
        std::string channel;
        std::vector<std::string> except;
    };
    std::vector<OutboxMessage> claimDue(Poco::Int64 timestamp, int limit, int leaseSeconds,
                                        const ClaimFilter& filter = {});

    /// Whether claimDue would find anything, by reading: a poll that finds nothing costs no write (with a
    /// worker per channel, and several instances, most polls find nothing).
    bool anyDue(Poco::Int64 timestamp, const ClaimFilter& filter = {});

    /// Extends a claim just before the message is handed to its notifier; false when the claim was
    /// lost (the message was cancelled, or claimed again after the lease ran out).
    bool renewClaim(OutboxMessage& message, Poco::Int64 leaseUntil);

    /// Records outcomes in one unit of work (one commit for a whole batch of messages); for each, whether
    /// it applied: false when its claim was lost (the message was cancelled, or claimed again).
    std::vector<bool> record(const std::vector<DeliveryOutcome>& outcomes, Poco::Int64 timestamp);

    /// One outcome of a claimed message; false when the claim was lost (cancelled or re-claimed).
    bool markDelivered(const OutboxMessage& message, Poco::Int64 timestamp);
    bool markRetry(const OutboxMessage& message, Poco::Int64 nextAttemptAt, const std::string& error,
                   Poco::Int64 timestamp);
    /// Final states: "expired", "failed", "cancelled".
    bool markFinal(const OutboxMessage& message, const std::string& status, const std::string& error,
                   Poco::Int64 timestamp);

    /// Records a provider's delivery report on a message (`status`: the report's type bits, `report`
    /// what they stand for) and returns the message's user id; empty, recording nothing, when there is
    /// no such message, it already has a final report (delivered, failed, rejected), every bit of
    /// `status` was accepted before (a replay), or an earlier report came with another nonce
    /// (`nonceHash`: the hex SHA-256 of the report URL's nonce). One statement: of two reports at once,
    /// the second sees what the first recorded.
    std::string recordReport(const std::string& id, const std::string& nonceHash, int status,
                             const std::string& report, Poco::Int64 timestamp);

    /// A message's delivery report ("" until one arrives).
    std::string report(const std::string& id);

    /// The state of a message's code ("live", "used", …), empty when it is gone.
    std::string codeState(const std::string& codeId);

    void eraseUser(sdk::Transaction& transaction, const std::string& userId);

    /// Keeps the plugin's tables bounded: drops send events older than every window, codes an hour past
    /// their expiry, counters that hold nothing, and finished messages a week old; at most `batch` rows
    /// of each per call. Returns how many rows it dropped.
    std::size_t prune(Poco::Int64 timestamp, int batch);

private:
    /// The channel condition of `filter`, its values appended to `parameters`.
    static std::string channelClause(const ClaimFilter& filter, std::vector<sdk::Value>& parameters);

    sdk::Storage& _storage;
};

} // namespace identity::reauth

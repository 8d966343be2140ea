#pragma once

#include "identity/sdk/Storage.h"

#include <optional>
#include <string>
#include <vector>

namespace identity::reauth
{

/// A message waiting in the outbox; `sealedCode` is the code under AES-256-GCM, bound to the row id.
struct OutboxMessage
{
    std::string id;
    std::string codeId;
    std::string userId;
    std::string channel;
    std::string destination;
    std::string locale;
    std::string sealedCode;
    int attempts = 0;
    Poco::Int64 expiresAt = 0;
};

/// The `outbox` table: messages are written in the same transaction as their code, claimed by a
/// delivery worker with a lease (so a crashed worker's claims come back), and scrubbed of the code once
/// they are delivered, expired, failed or cancelled.
class Outbox
{
public:
    explicit Outbox(sdk::Storage& storage);

    /// Adds a message inside the caller's transaction.
    void enqueue(Poco::Data::Session& session, const OutboxMessage& message, Poco::Int64 timestamp);

    /// Cancels the user's messages that have not been sent (their codes were replaced).
    void cancelPending(Poco::Data::Session& session, const std::string& userId, Poco::Int64 timestamp);

    /// Claims up to `limit` due messages for `leaseSeconds`.
    std::vector<OutboxMessage> claimDue(Poco::Int64 timestamp, int limit, int leaseSeconds);

    void markDelivered(const std::string& id, const std::string& maskedDestination, Poco::Int64 timestamp);
    void markRetry(const std::string& id, Poco::Int64 nextAttemptAt, const std::string& error, Poco::Int64 timestamp);
    /// Final states: "expired", "failed".
    void markFinal(const std::string& id, const std::string& status, const std::string& error, Poco::Int64 timestamp);

    void eraseUser(Poco::Data::Session& session, const std::string& userId);

    /// The status of one message (tests and operators).
    std::optional<std::string> status(const std::string& id);

private:
    sdk::Storage& _storage;
};

} // namespace identity::reauth

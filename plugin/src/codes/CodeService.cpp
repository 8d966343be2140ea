#include "codes/CodeService.h"

#include "ReauthMetrics.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

#include <Poco/Net/IPAddress.h>

#include <algorithm>
#include <optional>
#include <cstdio>
#include <cstring>

namespace identity::reauth
{

using sdk::Value;
using sdk::ApiError;
namespace crypto = sdk::crypto;

namespace
{
bool isSixDigits(const std::string& code)
{
    return code.size() == 6 && std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// Time-ordered: the codes and outbox indexes grow at their end, so a group commit writes few pages.
std::string newId() { return crypto::timeOrderedId(); }

/// The key the per-IP limit counts under: the address, or for IPv6 its /64, which one subscriber
/// usually holds whole.
std::string ipLimitKey(const std::string& address)
{
    Poco::Net::IPAddress ip;
    if (!Poco::Net::IPAddress::tryParse(address, ip) || ip.family() != Poco::Net::IPAddress::IPv6)
        return address;
    if (ip.isIPv4Mapped()) // an IPv4 client of a dual-stack listener: count its IPv4 address
        return Poco::Net::IPAddress(static_cast<const unsigned char*>(ip.addr()) + 12, 4).toString();
    // Poco's mask() is IPv4-only: clear the interface identifier (the low 64 bits) by hand.
    unsigned char bytes[16];
    std::memcpy(bytes, ip.addr(), sizeof bytes);
    std::memset(bytes + 8, 0, 8);
    return Poco::Net::IPAddress(bytes, sizeof bytes).toString() + "/64";
}
} // namespace

CodeService::CodeService(sdk::PluginContext& context, const ReauthenticateSettings& settings,
                         std::shared_ptr<Outbox> outbox,
                         std::string pepper, std::string outboxKey, std::function<void(const std::string& channel)> queued)
    : _context(context), _settings(settings), _outbox(std::move(outbox)), _limits(_settings, context.audit()),
      _pepper(std::move(pepper)), _outboxKey(std::move(outboxKey)), _queued(std::move(queued))
{
}

std::string CodeService::codeHash(const std::string& userId, const std::string& code) const
{
    // Length-prefixed fields: no two (user, purpose, code) triples share an input.
    const std::string input = std::to_string(userId.size()) + ":" + userId + "|" + purpose + "|" + code;
    return crypto::toHex(crypto::hmacSha256(_pepper, input));
}

void CodeService::issue(const sdk::Principal& principal, const std::string& channel, const std::string& destination,
                        const sdk::Request& request)
{
    // Uniform over 000000..999999: rejection sampling, no modulo bias.
    char code[8];
    std::snprintf(code, sizeof code, "%06u", _context.random().uniform(1000000));
    const std::string codeId = newId(), messageId = newId();
    const Poco::Int64 timestamp = _context.clock().now();

    SendAttempt attempt{principal.userId, ipLimitKey(request.clientAddress()),
                        crypto::toHex(crypto::hmacSha256(_pepper, "destination|" + destination)), channel};
    OutboxMessage message;
    message.id = messageId;
    message.codeId = codeId;
    message.userId = principal.userId;
    message.channel = channel;
    message.destination = destination;
    message.destinationMasked = sdk::AuditLog::mask(destination);
    message.locale = request.locale(); // the host's choice: the request's preference, else the user's locale
    message.sealedCode = crypto::base64UrlEncode(crypto::aesGcmSeal(_outboxKey, code, messageId));
    message.expiresAt = timestamp + _settings.codeTtl;

    std::optional<LimitHit> hit;
    bool accountGone = false;
    _context.storage().write([&](sdk::Transaction& transaction) {
        _limits.lock(transaction, attempt);
        // Under the user's lock: an account deleted a moment ago (on any instance) gets no new rows.
        accountGone = transaction
                          .execute("SELECT id FROM users WHERE id = $1 AND status = 'active'",
                                   {Value(principal.userId)})
                          .empty();
        if (accountGone)
            return;
        hit = _limits.check(transaction, attempt, timestamp);
        if (hit)
            return;
        _limits.record(transaction, attempt, timestamp);
        // Under the user's lock: two sends at once on two instances still leave one live code.
        transaction.execute("UPDATE verification_codes SET state = 'replaced' WHERE user_id = $1 AND purpose = $2 "
                            "AND state = 'live'",
                            {Value(principal.userId), Value(purpose)});
        _outbox->cancelUnsent(transaction, principal.userId, timestamp);
        transaction.execute("INSERT INTO verification_codes(id, user_id, session_id, purpose, channel, code_hash, "
                            "device_id, created_at, expires_at, attempts, state) "
                            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 'live')",
                            {Value(codeId), Value(principal.userId), Value(principal.sessionId), Value(purpose),
                             Value(channel), Value(codeHash(principal.userId, code)), Value(request.deviceId()),
                             Value(timestamp), Value(message.expiresAt)});
        _outbox->enqueue(transaction, message, timestamp);
    });
    if (accountGone)
        throw ApiError::unauthenticated();
    if (hit)
    {
        metrics::limitHit(_context, hit->name);
        _limits.refuse(*hit, attempt);
    }
    _queued(channel);

    Poco::JSON::Object fields;
    fields.set("channel", channel);
    fields.set("destination", sdk::AuditLog::mask(destination));
    fields.set("code_id", codeId);
    fields.set("session_id", principal.sessionId);
    if (!request.deviceId().empty())
        fields.set("device_id", request.deviceId());
    _context.audit().record("code_sent", principal.userId, fields);
    metrics::code(_context, "issued");
}

bool CodeService::countFailure(sdk::Transaction& transaction, const std::string& userId, Poco::Int64 timestamp,
                               int& consecutive)
{
    // Counted in the database (not read, then written), so concurrent failures all count.
    consecutive = static_cast<int>(
        transaction
            .execute("INSERT INTO verification_failures(user_id, consecutive, locked_until) VALUES ($1, 1, 0) "
                     "ON CONFLICT (user_id) DO UPDATE SET consecutive = verification_failures.consecutive + 1 "
                     "RETURNING consecutive",
                     {Value(userId)})
            .front()
            .integer(0));
    if (consecutive < _settings.failuresBeforeLock)
        return false;
    // The lock is the consequence; after it, the count starts again.
    transaction.execute("UPDATE verification_failures SET consecutive = 0, locked_until = $1 WHERE user_id = $2",
                        {Value(timestamp + _settings.lockSeconds), Value(userId)});
    return true;
}

void CodeService::verify(const sdk::Principal& principal, const std::string& code, const sdk::Request& request)
{
    if (!isSixDigits(code))
        throw ApiError::invalidArgument("malformed_verification_code");

    const Poco::Int64 timestamp = _context.clock().now();
    const std::string submitted = codeHash(principal.userId, code);
    enum class Outcome
    {
        Gone,
        Locked,
        Verified,
        Replay,
        Failed
    };
    Outcome outcome = Outcome::Failed;
    Poco::Int64 retryAfter = 0;
    std::string codeId;
    bool burned = false, locked = false;
    int consecutive = 0;

    // Decided inside the unit of work, acted on (audit, errors) once it is committed.
    _context.storage().write([&](sdk::Transaction& transaction) {
        burned = locked = false;
        codeId.clear();
        // As a send does: an account deleted a moment ago gets no failure counter about it.
        transaction.lock(sdk::userLockKey(principal.userId));
        if (transaction.execute("SELECT id FROM users WHERE id = $1 AND status = 'active'", {Value(principal.userId)})
                .empty())
        {
            outcome = Outcome::Gone;
            return;
        }
        const sdk::Result lock = transaction.execute(
            "SELECT locked_until FROM verification_failures WHERE user_id = $1", {Value(principal.userId)});
        const Poco::Int64 lockedUntil = lock.empty() ? 0 : lock.front().integer(0);
        if (lockedUntil > timestamp)
        {
            outcome = Outcome::Locked;
            retryAfter = lockedUntil - timestamp;
            return;
        }

        const sdk::Result live = transaction.execute(
            "SELECT id, session_id, code_hash, expires_at FROM verification_codes "
            "WHERE user_id = $1 AND purpose = $2 AND state = 'live' ORDER BY created_at DESC LIMIT 1",
            {Value(principal.userId), Value(purpose)});
        const bool isLive = !live.empty() && live.front().integer(3) > timestamp;
        const bool sameSession = isLive && live.front().text(1) == principal.sessionId;
        // Always compare, so timing does not tell which check failed.
        const bool matches = crypto::constantTimeEquals(submitted, live.empty() ? std::string() : live.front().text(2));
        if (isLive)
            codeId = live.front().text(0);
        if (isLive && sameSession && matches)
        {
            // The conditional update is what makes the code single-use, on any database and isolation.
            if (transaction
                    .execute("UPDATE verification_codes SET state = 'used' WHERE id = $1 AND state = 'live' AND "
                             "expires_at > $2",
                             {Value(codeId), Value(timestamp)})
                    .affected == 1)
            {
                transaction.execute("DELETE FROM verification_failures WHERE user_id = $1", {Value(principal.userId)});
                outcome = Outcome::Verified;
                return;
            }
            // Spent by a concurrent request a moment ago: a replay, not a guess.
            outcome = Outcome::Replay;
            return;
        }

        // The right code again after it was used (a client retrying, or the losers of a race): refused,
        // but not a guess either, so it counts against nothing.
        if (!transaction
                 .execute("SELECT id FROM verification_codes WHERE user_id = $1 AND purpose = $2 AND session_id = $3 "
                          "AND state = 'used' AND expires_at > $4 AND code_hash = $5 LIMIT 1",
                          {Value(principal.userId), Value(purpose), Value(principal.sessionId), Value(timestamp),
                           Value(submitted)})
                 .empty())
        {
            outcome = Outcome::Replay;
            return;
        }

        if (isLive && sameSession)
        {
            const sdk::Result state = transaction.execute(
                "UPDATE verification_codes SET attempts = attempts + 1, "
                "state = CASE WHEN attempts + 1 >= $1 THEN 'burned' ELSE state END "
                "WHERE id = $2 AND state = 'live' RETURNING state",
                {Value(_settings.attemptsPerCode), Value(codeId)});
            burned = !state.empty() && state.front().text(0) == "burned";
        }
        locked = countFailure(transaction, principal.userId, timestamp, consecutive);
        outcome = Outcome::Failed;
    });

    Poco::JSON::Object fields;
    fields.set("session_id", principal.sessionId);
    switch (outcome)
    {
    case Outcome::Gone:
        throw ApiError::unauthenticated();
    case Outcome::Locked:
        fields.set("retry_after", retryAfter);
        _context.audit().record("verification_locked", principal.userId, fields);
        metrics::code(_context, "locked");
        throw ApiError::resourceExhausted(static_cast<int>(retryAfter));
    case Outcome::Verified:
        fields.set("code_id", codeId);
        _context.audit().record("code_verified", principal.userId, fields);
        metrics::code(_context, "verified");
        return;
    case Outcome::Replay:
        throw ApiError::invalidVerificationCode();
    case Outcome::Failed:
        break;
    }
    if (burned)
    {
        Poco::JSON::Object burnedFields;
        burnedFields.set("code_id", codeId);
        _context.audit().record("code_burned", principal.userId, burnedFields);
        metrics::code(_context, "burned");
    }
    fields.set("consecutive_failures", consecutive);
    _context.audit().record("code_failed", principal.userId, fields);
    metrics::code(_context, "failed");
    if (locked)
        _context.audit().record("verification_locked", principal.userId, fields);
    throw ApiError::invalidVerificationCode();
}

void AccountNotices::accountChanged(sdk::Transaction& transaction, const sdk::AccountEvent& event)
{
    const char* kind = nullptr;
    switch (event.kind)
    {
    case sdk::AccountEvent::Kind::PasswordChanged: kind = kinds::passwordChanged; break;
    case sdk::AccountEvent::Kind::AccountDeleted: kind = kinds::accountDeleted; break;
    }
    if (!kind || !_emailOn || event.email.empty())
        return;
    OutboxMessage message;
    message.id = newId();
    message.kind = kind;
    message.userId = event.userId;
    message.channel = "email";
    message.destination = event.email;
    message.destinationMasked = sdk::AuditLog::mask(event.email);
    message.locale = event.locale == "zh" ? "zh" : "en";
    message.expiresAt = event.timestamp + lifetimeSeconds;
    _outbox->enqueue(transaction, message, event.timestamp);
    if (_wake)
        _wake();
}

void ReauthenticationUserData::eraseUser(sdk::Transaction& transaction, const std::string& userId)
{
    transaction.execute("DELETE FROM verification_codes WHERE user_id = $1", {Value(userId)});
    transaction.execute("DELETE FROM verification_failures WHERE user_id = $1", {Value(userId)});
    transaction.execute("DELETE FROM send_events WHERE user_id = $1", {Value(userId)});
    _outbox->eraseUser(transaction, userId);
}

} // namespace identity::reauth

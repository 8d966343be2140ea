#include "codes/CodeService.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

#include <Poco/Net/IPAddress.h>
#include <Poco/UUIDGenerator.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace identity::reauth
{

using namespace Poco::Data::Keywords;
using sdk::ApiError;
namespace crypto = sdk::crypto;

namespace
{
bool isSixDigits(const std::string& code)
{
    return code.size() == 6 && std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string newId() { return Poco::UUIDGenerator::defaultGenerator().createRandom().toString(); }

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
                         std::string pepper, std::string outboxKey, std::function<void()> queued)
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
    message.locale = request.header("Accept-Language").empty() ? principal.locale : request.locale();
    message.sealedCode = crypto::base64UrlEncode(crypto::aesGcmSeal(_outboxKey, code, messageId));
    message.expiresAt = timestamp + _settings.codeTtl;

    {
        Poco::Data::Session session = _context.storage().session();
        sdk::WriteTransaction transaction(_context.storage(), session);
        _limits.check(session, attempt, timestamp);
        _limits.record(session, attempt, timestamp);

        std::string user = principal.userId, sessionId = principal.sessionId, kind = purpose, via = channel,
                    hash = codeHash(principal.userId, code), device = request.deviceId(), id = codeId;
        Poco::Int64 at = timestamp, expires = message.expiresAt;
        session << "UPDATE verification_codes SET state = 'replaced' WHERE user_id = $1 AND purpose = $2 AND "
                   "state = 'live'",
            use(user), use(kind), now;
        _outbox->cancelUnsent(session, principal.userId, timestamp);
        session << "INSERT INTO verification_codes(id, user_id, session_id, purpose, channel, code_hash, device_id, "
                   "created_at, expires_at, attempts, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 'live')",
            use(id), use(user), use(sessionId), use(kind), use(via), use(hash), use(device), use(at), use(expires), now;
        _outbox->enqueue(session, message, timestamp);
        transaction.commit();
    }
    _queued();

    Poco::JSON::Object fields;
    fields.set("channel", channel);
    fields.set("destination", sdk::AuditLog::mask(destination));
    fields.set("code_id", codeId);
    fields.set("session_id", principal.sessionId);
    if (!request.deviceId().empty())
        fields.set("device_id", request.deviceId());
    _context.audit().record("code_sent", principal.userId, fields);
}

bool CodeService::countFailure(Poco::Data::Session& session, const std::string& userId, Poco::Int64 timestamp,
                               int& consecutive)
{
    // Counted in the database (not read, then written), so concurrent failures all count.
    std::string user = userId;
    session << "INSERT INTO verification_failures(user_id, consecutive, locked_until) VALUES ($1, 1, 0) "
               "ON CONFLICT (user_id) DO UPDATE SET consecutive = verification_failures.consecutive + 1 "
               "RETURNING consecutive",
        use(user), into(consecutive), now;
    if (consecutive < _settings.failuresBeforeLock)
        return false;
    // The lock is the consequence; after it, the count starts again.
    Poco::Int64 lockedUntil = timestamp + _settings.lockSeconds;
    session << "UPDATE verification_failures SET consecutive = 0, locked_until = $1 WHERE user_id = $2",
        use(lockedUntil), use(user), now;
    return true;
}

void CodeService::verify(const sdk::Principal& principal, const std::string& code, const sdk::Request& request)
{
    if (!isSixDigits(code))
        throw ApiError::invalidArgument("malformed_verification_code");

    const Poco::Int64 timestamp = _context.clock().now();
    std::string user = principal.userId, kind = purpose, sessionKey = principal.sessionId;
    Poco::Int64 at = timestamp;
    const std::string submitted = codeHash(principal.userId, code);
    Poco::JSON::Object fields;
    fields.set("session_id", principal.sessionId);

    Poco::Data::Session session = _context.storage().session();
    sdk::WriteTransaction transaction(_context.storage(), session);

    Poco::Int64 lockedUntil = 0;
    session << "SELECT locked_until FROM verification_failures WHERE user_id = $1", use(user), into(lockedUntil), now;
    if (lockedUntil > timestamp)
    {
        fields.set("retry_after", lockedUntil - timestamp);
        _context.audit().record("verification_locked", principal.userId, fields);
        throw ApiError::resourceExhausted(static_cast<int>(lockedUntil - timestamp));
    }

    std::string codeId, sessionId, storedHash;
    Poco::Int64 expiresAt = 0;
    session << "SELECT id, session_id, code_hash, expires_at FROM verification_codes "
               "WHERE user_id = $1 AND purpose = $2 AND state = 'live' ORDER BY created_at DESC LIMIT 1",
        use(user), use(kind), into(codeId), into(sessionId), into(storedHash), into(expiresAt), now;

    const bool live = !codeId.empty() && expiresAt > timestamp;
    const bool sameSession = live && sessionId == principal.sessionId;
    // Always compare, so timing does not tell which check failed.
    const bool matches = crypto::constantTimeEquals(submitted, storedHash);
    if (live && sameSession && matches)
    {
        // The conditional update is what makes the code single-use, on any database and isolation.
        Poco::Data::Statement spend(session);
        spend << "UPDATE verification_codes SET state = 'used' WHERE id = $1 AND state = 'live' AND expires_at > $2",
            use(codeId), use(at);
        if (spend.execute() == 1)
        {
            session << "DELETE FROM verification_failures WHERE user_id = $1", use(user), now;
            transaction.commit();
            fields.set("code_id", codeId);
            _context.audit().record("code_verified", principal.userId, fields);
            return;
        }
        // Spent by a concurrent request a moment ago: a replay, not a guess.
        throw ApiError::invalidVerificationCode();
    }

    // The right code again after it was used (a client retrying, or the losers of a race): refused, but
    // not a guess either, so it counts against nothing.
    int replays = 0;
    session << "SELECT COUNT(*) FROM verification_codes WHERE user_id = $1 AND purpose = $2 AND session_id = $3 "
               "AND state = 'used' AND expires_at > $4 AND code_hash = $5",
        use(user), use(kind), use(sessionKey), use(at), bind(submitted), into(replays), now;
    if (replays > 0)
        throw ApiError::invalidVerificationCode();

    if (live && sameSession)
    {
        int limit = _settings.attemptsPerCode;
        std::string state;
        session << "UPDATE verification_codes SET attempts = attempts + 1, "
                   "state = CASE WHEN attempts + 1 >= $1 THEN 'burned' ELSE state END "
                   "WHERE id = $2 AND state = 'live' RETURNING state",
            use(limit), use(codeId), into(state), now;
        if (state == "burned")
        {
            Poco::JSON::Object burnedFields;
            burnedFields.set("code_id", codeId);
            _context.audit().record("code_burned", principal.userId, burnedFields);
        }
    }
    int consecutive = 0;
    const bool locked = countFailure(session, principal.userId, timestamp, consecutive);
    transaction.commit();
    fields.set("consecutive_failures", consecutive);
    _context.audit().record("code_failed", principal.userId, fields);
    if (locked)
        _context.audit().record("verification_locked", principal.userId, fields);
    throw ApiError::invalidVerificationCode();
}

void ReauthenticationUserData::eraseUser(Poco::Data::Session& session, const std::string& userId)
{
    std::string user = userId;
    session << "DELETE FROM verification_codes WHERE user_id = $1", use(user), now;
    session << "DELETE FROM verification_failures WHERE user_id = $1", use(user), now;
    session << "DELETE FROM send_events WHERE user_id = $1", use(user), now;
    _outbox->eraseUser(session, userId);
}

} // namespace identity::reauth

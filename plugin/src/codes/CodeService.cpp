#include "codes/CodeService.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

#include <Poco/UUIDGenerator.h>

#include <algorithm>
#include <cstdio>

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
} // namespace

CodeService::CodeService(sdk::PluginContext& context, const ReauthenticateSettings& settings, Outbox& outbox,
                         std::string pepper, std::string outboxKey, std::function<void()> queued)
    : _context(context), _settings(settings), _outbox(outbox), _limits(settings, context.audit()),
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

    SendAttempt attempt{principal.userId, request.clientAddress(),
                        crypto::toHex(crypto::hmacSha256(_pepper, "destination|" + destination)), channel};
    OutboxMessage message;
    message.id = messageId;
    message.codeId = codeId;
    message.userId = principal.userId;
    message.channel = channel;
    message.destination = destination;
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
        _outbox.cancelPending(session, principal.userId, timestamp);
        session << "INSERT INTO verification_codes(id, user_id, session_id, purpose, channel, code_hash, device_id, "
                   "created_at, expires_at, attempts, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 'live')",
            use(id), use(user), use(sessionId), use(kind), use(via), use(hash), use(device), use(at), use(expires), now;
        _outbox.enqueue(session, message, timestamp);
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

bool CodeService::countFailure(Poco::Data::Session& session, const std::string& userId, int consecutive,
                               Poco::Int64 timestamp)
{
    std::string user = userId;
    int count = consecutive + 1;
    const bool locked = count >= _settings.failuresBeforeLock;
    Poco::Int64 lockedUntil = locked ? timestamp + _settings.lockSeconds : 0;
    if (locked)
        count = 0; // the lock is the consequence; after it, the count starts again
    session << "INSERT INTO verification_failures(user_id, consecutive, locked_until) VALUES ($1, $2, $3) "
               "ON CONFLICT (user_id) DO UPDATE SET consecutive = excluded.consecutive, "
               "locked_until = excluded.locked_until",
        use(user), use(count), use(lockedUntil), now;
    return locked;
}

void CodeService::verify(const sdk::Principal& principal, const std::string& code, const sdk::Request& request)
{
    if (!isSixDigits(code))
        throw ApiError::invalidArgument("malformed_verification_code");

    const Poco::Int64 timestamp = _context.clock().now();
    std::string user = principal.userId, kind = purpose;
    Poco::JSON::Object fields;
    fields.set("session_id", principal.sessionId);

    Poco::Data::Session session = _context.storage().session();
    sdk::WriteTransaction transaction(_context.storage(), session);

    int consecutive = 0;
    Poco::Int64 lockedUntil = 0;
    session << "SELECT consecutive, locked_until FROM verification_failures WHERE user_id = $1", use(user),
        into(consecutive), into(lockedUntil), now;
    if (lockedUntil > timestamp)
    {
        fields.set("retry_after", lockedUntil - timestamp);
        _context.audit().record("verification_locked", principal.userId, fields);
        throw ApiError::resourceExhausted(static_cast<int>(lockedUntil - timestamp));
    }

    std::string codeId, sessionId, storedHash;
    Poco::Int64 expiresAt = 0;
    int attempts = 0;
    session << "SELECT id, session_id, code_hash, expires_at, attempts FROM verification_codes "
               "WHERE user_id = $1 AND purpose = $2 AND state = 'live' ORDER BY created_at DESC LIMIT 1",
        use(user), use(kind), into(codeId), into(sessionId), into(storedHash), into(expiresAt), into(attempts), now;

    const bool live = !codeId.empty() && expiresAt > timestamp;
    const bool sameSession = live && sessionId == principal.sessionId;
    // Always compute and compare, so timing does not tell which check failed.
    const bool matches = crypto::constantTimeEquals(codeHash(principal.userId, code), storedHash);
    if (live && sameSession && matches)
    {
        // The conditional update is what makes the code single-use, on any database and any isolation.
        Poco::Int64 at = timestamp;
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
    }

    if (live && sameSession)
    {
        int tries = attempts + 1;
        const bool burned = tries >= _settings.attemptsPerCode;
        std::string state = burned ? "burned" : "live";
        session << "UPDATE verification_codes SET attempts = $1, state = $2 WHERE id = $3", use(tries), use(state),
            use(codeId), now;
        if (burned)
        {
            Poco::JSON::Object burnedFields;
            burnedFields.set("code_id", codeId);
            _context.audit().record("code_burned", principal.userId, burnedFields);
        }
    }
    const bool locked = countFailure(session, principal.userId, consecutive, timestamp);
    transaction.commit();
    fields.set("consecutive_failures", locked ? _settings.failuresBeforeLock : consecutive + 1);
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
    _outbox.eraseUser(session, userId);
}

} // namespace identity::reauth

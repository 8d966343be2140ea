#include "auth/PasswordGuard.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

namespace identity::host
{

using sdk::Value;

PasswordGuard::PasswordGuard(sdk::Storage& storage, const sdk::Clock& clock, sdk::AuditLog& audit,
                             int failuresBeforeLock, int lockSeconds)
    : _storage(storage), _clock(clock), _audit(audit), _failuresBeforeLock(failuresBeforeLock),
      _lockSeconds(lockSeconds)
{
    if (failuresBeforeLock < 1 || failuresBeforeLock > 100 || lockSeconds < 1)
        throw Poco::InvalidArgumentException(
            "passwords.failures_before_lock must be 1 to 100 and passwords.lock_seconds at least 1");
}

std::string PasswordGuard::forUser(const std::string& userId) { return "user:" + userId; }

std::string PasswordGuard::forLogin(const std::string& field, const std::string& value)
{
    return "login:" + sdk::crypto::toHex(sdk::crypto::sha256(field + "|" + value));
}

void PasswordGuard::check(const std::string& subject)
{
    Poco::Int64 lockedUntil = 0;
    _storage.read([&](sdk::Transaction& transaction) {
        const sdk::Result result =
            transaction.execute("SELECT locked_until FROM password_failures WHERE subject = $1", {Value(subject)});
        lockedUntil = result.empty() ? 0 : result.front().integer(0);
    });
    const Poco::Int64 timestamp = _clock.now();
    if (lockedUntil > timestamp)
        throw sdk::ApiError::resourceExhausted(static_cast<int>(lockedUntil - timestamp));
}

void PasswordGuard::failed(const std::string& subject)
{
    const Poco::Int64 timestamp = _clock.now();
    bool locked = false;
    const bool account = subject.rfind("user:", 0) == 0;
    _storage.write([&](sdk::Transaction& transaction) {
        locked = false;
        if (account)
        {
            // Not about an account deleted a moment ago: its row would never be pruned.
            transaction.lock(sdk::userLockKey(subject.substr(5)));
            if (transaction.execute("SELECT id FROM users WHERE id = $1", {Value(subject.substr(5))}).empty())
                return;
        }
        // Counted in the database (not read, then written), so concurrent failures all count.
        const Poco::Int64 consecutive =
            transaction
                .execute("INSERT INTO password_failures(subject, consecutive, locked_until, updated_at) "
                         "VALUES ($1, 1, 0, $2) ON CONFLICT (subject) DO UPDATE SET "
                         "consecutive = password_failures.consecutive + 1, updated_at = $3 RETURNING consecutive",
                         {Value(subject), Value(timestamp), Value(timestamp)})
                .front()
                .integer(0);
        locked = consecutive >= _failuresBeforeLock;
        if (locked)
            transaction.execute("UPDATE password_failures SET consecutive = 0, locked_until = $1 WHERE subject = $2",
                                {Value(timestamp + _lockSeconds), Value(subject)});
    });
    if (!locked)
        return;
    Poco::JSON::Object fields;
    fields.set("retry_after", _lockSeconds);
    if (!account)
        fields.set("login", "unknown");
    _audit.record("password_locked", account ? subject.substr(5) : std::string(), fields);
}

void PasswordGuard::succeeded(const std::string& subject)
{
    _storage.write([&](sdk::Transaction& transaction) {
        transaction.execute("DELETE FROM password_failures WHERE subject = $1", {Value(subject)});
    });
}

void PasswordGuard::forget(sdk::Transaction& transaction, const std::string& subject)
{
    transaction.execute("DELETE FROM password_failures WHERE subject = $1", {Value(subject)});
}

std::size_t PasswordGuard::prune(int batch)
{
    const Poco::Int64 timestamp = _clock.now();
    std::size_t removed = 0;
    _storage.write([&](sdk::Transaction& transaction) {
        removed = transaction
                      .execute("DELETE FROM password_failures WHERE subject IN (SELECT subject FROM password_failures "
                               "WHERE subject LIKE 'login:%' AND locked_until <= $1 AND updated_at < $2 LIMIT $3)",
                               {Value(timestamp), Value(timestamp - _lockSeconds), Value(batch)})
                      .affected;
    });
    return removed;
}

} // namespace identity::host

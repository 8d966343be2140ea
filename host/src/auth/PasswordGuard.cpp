#include "auth/PasswordGuard.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

namespace identity::host
{

using namespace Poco::Data::Keywords;

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
    std::string user = subject;
    Poco::Int64 lockedUntil = 0;
    Poco::Data::Session session = _storage.session();
    session << "SELECT locked_until FROM password_failures WHERE subject = $1", use(user), into(lockedUntil), now;
    const Poco::Int64 timestamp = _clock.now();
    if (lockedUntil > timestamp)
        throw sdk::ApiError::resourceExhausted(static_cast<int>(lockedUntil - timestamp));
}

void PasswordGuard::failed(const std::string& subject)
{
    std::string user = subject;
    int consecutive = 0;
    Poco::Data::Session session = _storage.session();
    session << "INSERT INTO password_failures(subject, consecutive, locked_until) VALUES ($1, 1, 0) "
               "ON CONFLICT (subject) DO UPDATE SET consecutive = password_failures.consecutive + 1 "
               "RETURNING consecutive",
        use(user), into(consecutive), now;
    if (consecutive < _failuresBeforeLock)
        return;
    Poco::Int64 lockedUntil = _clock.now() + _lockSeconds;
    session << "UPDATE password_failures SET consecutive = 0, locked_until = $1 WHERE subject = $2", use(lockedUntil),
        use(user), now;
    Poco::JSON::Object fields;
    fields.set("retry_after", _lockSeconds);
    const bool account = subject.rfind("user:", 0) == 0;
    if (!account)
        fields.set("login", "unknown");
    _audit.record("password_locked", account ? subject.substr(5) : std::string(), fields);
}

void PasswordGuard::succeeded(const std::string& subject)
{
    std::string user = subject;
    Poco::Data::Session session = _storage.session();
    session << "DELETE FROM password_failures WHERE subject = $1", use(user), now;
}

void PasswordGuard::forget(Poco::Data::Session& session, const std::string& subject)
{
    std::string key = subject;
    session << "DELETE FROM password_failures WHERE subject = $1", use(key), now;
}

} // namespace identity::host

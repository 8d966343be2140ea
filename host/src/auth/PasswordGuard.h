#pragma once

#include "identity/sdk/AuditLog.h"
#include "identity/sdk/Clock.h"
#include "identity/sdk/Storage.h"

#include <string>

namespace identity::host
{

/// Limits password guessing, wherever a password is checked (sign-in, sudo, the old password of a
/// change): after `failuresBeforeLock` consecutive wrong passwords, password checks for the subject
/// answer 429 for `lockSeconds`, before any hashing is done. A right password resets the count.
/// The subject is the account (`forUser`) or, for a sign-in name with no account, that name
/// (`forLogin`): unknown names lock exactly like known ones, so the lock reveals nobody.
class PasswordGuard
{
public:
    PasswordGuard(sdk::Storage& storage, const sdk::Clock& clock, sdk::AuditLog& audit, int failuresBeforeLock,
                  int lockSeconds);

    static std::string forUser(const std::string& userId);
    static std::string forLogin(const std::string& field, const std::string& value);

    /// Throws ApiError 429 with Retry-After while the subject is locked.
    void check(const std::string& subject);

    void failed(const std::string& subject);
    void succeeded(const std::string& subject);

    /// Drops an account's count (the account is being deleted).
    void forget(sdk::Transaction& transaction, const std::string& subject);

    /// Drops the rows of sign-in names without an account that are not locked and saw no failure for a
    /// lock period (a flood of random names leaves nothing behind), at most `batch`; returns how many.
    std::size_t prune(int batch);

private:
    sdk::Storage& _storage;
    const sdk::Clock& _clock;
    sdk::AuditLog& _audit;
    int _failuresBeforeLock;
    int _lockSeconds;
};

} // namespace identity::host

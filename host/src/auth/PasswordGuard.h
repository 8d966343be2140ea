#pragma once

#include "identity/sdk/AuditLog.h"
#include "identity/sdk/Clock.h"
#include "identity/sdk/Storage.h"

#include <string>

namespace identity::host
{

/// Limits password guessing per account, wherever a password is checked (sign-in, sudo, the old
/// password of a change): after `failuresBeforeLock` consecutive wrong passwords, password checks for
/// the account answer 429 for `lockSeconds`, before any hashing is done. A right password resets the
/// count.
class PasswordGuard
{
public:
    PasswordGuard(sdk::Storage& storage, const sdk::Clock& clock, sdk::AuditLog& audit, int failuresBeforeLock,
                  int lockSeconds);

    /// Throws ApiError 429 with Retry-After while the account is locked.
    void check(const std::string& userId);

    void failed(const std::string& userId);
    void succeeded(const std::string& userId);

private:
    sdk::Storage& _storage;
    const sdk::Clock& _clock;
    sdk::AuditLog& _audit;
    int _failuresBeforeLock;
    int _lockSeconds;
};

} // namespace identity::host

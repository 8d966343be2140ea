#pragma once

#include "auth/PasswordHasher.h"
#include "auth/UserStore.h"

#include "identity/sdk/Clock.h"

#include <mutex>
#include <string>
#include <vector>

namespace identity::host
{

/// The hash schemes a sign-in spends (PasswordHasher::verifyUniformly), so that its time tells neither
/// whether the account exists nor how its hash was made: the configured scheme, then the other schemes
/// active accounts' hashes were made with (PBKDF2 hashes from before Argon2id, Argon2id with older
/// parameters), until each account's next sign-in replaces its hash.
///
/// Read from `users` at start and again at most every `refreshSeconds` (by one request, the others
/// going on with the schemes read before): a scheme only appears through a configuration change, and
/// one that has gone costs time, not secrecy, until the next read. Only schemes that cost at most
/// `maximumCostRatio` times the configured one are spent (PBKDF2 at 600,000 rounds, about 3 times
/// Argon2id's default, is), and at most `maximumOthers` of them (the first in their text's order), so
/// that one account with a far costlier hash (m = 512 MiB, or 10 million rounds) cannot make every
/// sign-in pay for it: a sign-in costs at most 1 + 3 × 4 configured hashes. Accounts of a scheme left
/// out answer in a time of their own until their next sign-in replaces their hash, and the log says so.
class PasswordSchemes
{
public:
    static constexpr std::size_t maximumOthers = 3;
    static constexpr double maximumCostRatio = 4;
    static constexpr Poco::Int64 refreshSeconds = 300;

    PasswordSchemes(UserStore& users, const PasswordHasher& hasher, const sdk::Clock& clock);

    /// The configured scheme first, then the others.
    std::vector<std::string> current();

private:
    /// Reads the schemes in use; false (the old ones kept) when the database cannot be read.
    bool read(std::vector<std::string>& schemes);

    UserStore& _users;
    const PasswordHasher& _hasher;
    const sdk::Clock& _clock;
    std::mutex _mutex;
    std::vector<std::string> _schemes;
    Poco::Int64 _readAt = 0;
    bool _reading = false;
};

} // namespace identity::host

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
/// one that has gone costs time, not secrecy, until the next read. At most `maximumOthers` schemes
/// besides the configured one are spent (the first in their text's order), so that a sign-in costs at
/// most four hashes; accounts of a further scheme answer in a time of their own, and the log says so.
class PasswordSchemes
{
public:
    static constexpr std::size_t maximumOthers = 3;
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

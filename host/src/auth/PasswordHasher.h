#pragma once

#include "identity/sdk/SecureRandom.h"

#include <string>

namespace identity::host
{

struct PasswordHashing
{
    std::string algorithm = "argon2id"; ///< for new hashes: "argon2id" or "pbkdf2-sha256"
    int argon2TimeCost = 2;             ///< passes
    int argon2MemoryKib = 19456;        ///< 19 MiB
    int pbkdf2Iterations = 600000;
};

/// Password hashes, new ones with the configured algorithm:
/// - Argon2id (libsodium, version 1.3, one lane), as a PHC string:
///   `$argon2id$v=19$m=<KiB>,t=<passes>,p=1$<salt>$<hash>` (16-byte random salt, 32-byte hash). The
///   default is OWASP's first choice (m = 19 MiB, t = 2), and nothing cheaper is accepted.
/// - PBKDF2-HMAC-SHA256 with a 16-byte random salt, `pbkdf2-sha256$<iterations>$<salt>$<hash>`
///   (base64url), for deployments that must use a FIPS-approved function; at least 600,000 rounds.
/// Every hash carries its own parameters, so either kind verifies whatever is configured now, and
/// `needsRehash` tells a sign-in to replace a hash made with other settings.
class PasswordHasher
{
public:
    /// OWASP's floors; lower settings are refused.
    static constexpr int minimumIterations = 600000;
    static constexpr int minimumTimeCost = 2;
    static constexpr int minimumMemoryKib = 19456;

    PasswordHasher(PasswordHashing settings, sdk::SecureRandom& random);

    std::string hash(const std::string& password) const;
    bool verify(const std::string& password, const std::string& encoded) const;

    /// True when `encoded` was not made with the configured algorithm and parameters (an older PBKDF2
    /// hash once Argon2id is configured, a cheaper Argon2id): it should be replaced by `hash`.
    bool needsRehash(const std::string& encoded) const;

    /// Spends the time of one verification, for sign-ins of unknown users, so that response times do
    /// not tell which accounts exist.
    void spendVerificationTime(const std::string& password) const;

private:
    static std::string pbkdf2(const std::string& password, const std::string& salt, int iterations);
    bool verifyPbkdf2(const std::string& password, const std::string& encoded) const;

    PasswordHashing _settings;
    sdk::SecureRandom& _random;
};

} // namespace identity::host

#pragma once

#include "identity/sdk/SecureRandom.h"

#include <string>

namespace identity::host
{

/// PBKDF2-HMAC-SHA256 with a 16-byte random salt, encoded as
/// `pbkdf2-sha256$<iterations>$<salt>$<hash>` (base64url). The iteration count travels with each hash,
/// so raising it later leaves old hashes verifiable.
class PasswordHasher
{
public:
    /// OWASP's 2023 floor for PBKDF2-HMAC-SHA256; lower counts are refused.
    static constexpr int minimumIterations = 600000;

    PasswordHasher(int iterations, sdk::SecureRandom& random);

    std::string hash(const std::string& password) const;
    bool verify(const std::string& password, const std::string& encoded) const;

    /// Spends the time of one verification, for sign-ins of unknown users, so that response times do
    /// not tell which accounts exist.
    void spendVerificationTime(const std::string& password) const;

private:
    static std::string derive(const std::string& password, const std::string& salt, int iterations);

    int _iterations;
    sdk::SecureRandom& _random;
};

} // namespace identity::host

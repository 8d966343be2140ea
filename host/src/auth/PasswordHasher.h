#pragma once

#include "identity/sdk/SecureRandom.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

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
    /// The most a stored hash may cost; one beyond is refused, unhashed.
    static constexpr unsigned maximumMemoryKib = 1048576;
    static constexpr unsigned maximumTimeCost = 16;
    static constexpr int maximumIterations = 10000000;

    PasswordHasher(PasswordHashing settings, sdk::SecureRandom& random);

    std::string hash(const std::string& password) const;
    bool verify(const std::string& password, const std::string& encoded) const;

    /// True when `encoded` was not made with the configured algorithm and parameters (an older PBKDF2
    /// hash once Argon2id is configured, a cheaper Argon2id): it should be replaced by `hash`.
    bool needsRehash(const std::string& encoded) const;

    /// A hash's scheme: its algorithm and parameters, the text before its salt
    /// (`$argon2id$v=19$m=19456,t=2,p=1$`, `pbkdf2-sha256$600000$`); "" when it is not a hash this
    /// class verifies, or its parameters are beyond what may be configured (it is refused unhashed).
    static std::string schemeOf(const std::string& encoded);

    /// The scheme of the hashes `hash` makes now.
    std::string scheme() const;

    /// A scheme's cost, in Argon2id KiB-passes (m × t); PBKDF2's iterations weighed as measured on
    /// the project's machine (600,000 rounds took 141 ms, m = 19 MiB and t = 2 took 49 ms: one round
    /// is about 0.19 KiB-pass). 0 for "" (nothing is hashed).
    static double costOf(const std::string& scheme);

    /// Checks `password` against `encoded` ("" when there is no account, or it must not be checked) at
    /// the cost of one hash with each of `schemes`, the schemes of the hashes an account may have (see
    /// PasswordSchemes): `encoded` is checked in its own scheme's place and every other scheme is spent
    /// on nothing. A sign-in then takes as long whether the account exists or not, and whichever
    /// scheme its hash was made with: with PBKDF2 hashes left from before Argon2id (four times
    /// slower), checking only the account's own hash told those accounts from unknown names.
    bool verifyUniformly(const std::string& password, const std::string& encoded,
                         const std::vector<std::string>& schemes) const;

    /// Hashes computed since start, by algorithm, the spent ones included.
    std::uint64_t argon2idHashes() const { return _argon2idHashes; }
    std::uint64_t pbkdf2Hashes() const { return _pbkdf2Hashes; }

private:
    std::string pbkdf2(const std::string& password, const std::string& salt, int iterations) const;
    bool verifyPbkdf2(const std::string& password, const std::string& encoded) const;
    /// One hash in `scheme` of `password`, with a salt of zeros, thrown away.
    void spend(const std::string& password, const std::string& scheme) const;

    PasswordHashing _settings;
    sdk::SecureRandom& _random;
    mutable std::atomic<std::uint64_t> _argon2idHashes{0};
    mutable std::atomic<std::uint64_t> _pbkdf2Hashes{0};
};

} // namespace identity::host

#include "auth/PasswordHasher.h"

#include "identity/sdk/Crypto.h"

#include <Poco/Exception.h>
#include <Poco/NumberParser.h>
#include <Poco/StringTokenizer.h>

#include <openssl/evp.h>
#include <cstdio>
#include <sodium.h>

namespace identity::host
{

namespace crypto = sdk::crypto;

namespace
{
constexpr const char* argon2Prefix = "$argon2id$";
constexpr const char* pbkdf2Prefix = "pbkdf2-sha256$";

bool startsWith(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }
} // namespace

PasswordHasher::PasswordHasher(PasswordHashing settings, sdk::SecureRandom& random)
    : _settings(std::move(settings)), _random(random)
{
    if (::sodium_init() < 0)
        throw Poco::SystemException("libsodium could not be initialised");
    if (_settings.algorithm != "argon2id" && _settings.algorithm != "pbkdf2-sha256")
        throw Poco::InvalidArgumentException("passwords.algorithm must be argon2id or pbkdf2-sha256");
    if (_settings.pbkdf2Iterations < minimumIterations)
        throw Poco::InvalidArgumentException("passwords.pbkdf2_iterations must be at least 600000");
    if (_settings.argon2TimeCost < minimumTimeCost || _settings.argon2MemoryKib < minimumMemoryKib ||
        static_cast<std::size_t>(_settings.argon2MemoryKib) * 1024 > crypto_pwhash_MEMLIMIT_MAX ||
        static_cast<unsigned long long>(_settings.argon2TimeCost) > crypto_pwhash_OPSLIMIT_MAX)
        throw Poco::InvalidArgumentException(
            "passwords.argon2.time_cost must be at least 2 and passwords.argon2.memory_kib at least 19456");
}

std::string PasswordHasher::pbkdf2(const std::string& password, const std::string& salt, int iterations)
{
    unsigned char out[32];
    if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                          reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                          iterations, EVP_sha256(), sizeof out, out) != 1)
        throw Poco::SystemException("PBKDF2 failed");
    return std::string(reinterpret_cast<char*>(out), sizeof out);
}

std::string PasswordHasher::hash(const std::string& password) const
{
    if (_settings.algorithm == "pbkdf2-sha256")
    {
        const std::string salt = _random.bytes(16);
        return pbkdf2Prefix + std::to_string(_settings.pbkdf2Iterations) + "$" + crypto::base64UrlEncode(salt) + "$" +
               crypto::base64UrlEncode(pbkdf2(password, salt, _settings.pbkdf2Iterations));
    }
    // libsodium draws the salt from the system's generator (getrandom) and writes the PHC string.
    char encoded[crypto_pwhash_STRBYTES];
    if (::crypto_pwhash_str_alg(encoded, password.data(), password.size(),
                                static_cast<unsigned long long>(_settings.argon2TimeCost),
                                static_cast<std::size_t>(_settings.argon2MemoryKib) * 1024,
                                crypto_pwhash_ALG_ARGON2ID13) != 0)
        throw Poco::OutOfMemoryException("Argon2id could not get its memory");
    return encoded;
}

bool PasswordHasher::verifyPbkdf2(const std::string& password, const std::string& encoded) const
{
    Poco::StringTokenizer parts(encoded, "$");
    int iterations = 0;
    // A stored count beyond any this host would write (10 million) is refused: it would cost minutes.
    if (parts.count() != 4 || parts[0] != "pbkdf2-sha256" || !Poco::NumberParser::tryParse(parts[1], iterations) ||
        iterations < 1 || iterations > 10000000)
        return false;
    try
    {
        const std::string expected = crypto::base64UrlDecode(parts[3]);
        return crypto::constantTimeEquals(pbkdf2(password, crypto::base64UrlDecode(parts[2]), iterations), expected);
    }
    catch (const Poco::DataFormatException&)
    {
        return false;
    }
}

bool PasswordHasher::verify(const std::string& password, const std::string& encoded) const
{
    if (startsWith(encoded, argon2Prefix))
    {
        // Stored parameters beyond what the configuration may ask for (1 GiB, 16 passes) are refused, not
        // spent: one hash would otherwise cost as much memory and time as the row says.
        unsigned memory = 0, passes = 0, lanes = 0;
        if (std::sscanf(encoded.c_str(), "$argon2id$v=19$m=%u,t=%u,p=%u$", &memory, &passes, &lanes) != 3 ||
            memory > 1048576 || passes > 16 || lanes != 1)
            return false;
        // Constant-time; a malformed string, or parameters beyond libsodium's limits, fail.
        return encoded.size() < crypto_pwhash_STRBYTES &&
               ::crypto_pwhash_str_verify(encoded.c_str(), password.data(), password.size()) == 0;
    }
    if (startsWith(encoded, pbkdf2Prefix))
        return verifyPbkdf2(password, encoded);
    return false;
}

bool PasswordHasher::needsRehash(const std::string& encoded) const
{
    if (_settings.algorithm == "argon2id")
        return !startsWith(encoded, argon2Prefix) || encoded.size() >= crypto_pwhash_STRBYTES ||
               ::crypto_pwhash_str_needs_rehash(encoded.c_str(),
                                                static_cast<unsigned long long>(_settings.argon2TimeCost),
                                                static_cast<std::size_t>(_settings.argon2MemoryKib) * 1024) != 0;
    Poco::StringTokenizer parts(encoded, "$");
    int iterations = 0;
    return !startsWith(encoded, pbkdf2Prefix) || parts.count() != 4 ||
           !Poco::NumberParser::tryParse(parts[1], iterations) || iterations < _settings.pbkdf2Iterations;
}

void PasswordHasher::spendVerificationTime(const std::string& password) const
{
    if (_settings.algorithm == "pbkdf2-sha256")
    {
        pbkdf2(password, std::string(16, '\0'), _settings.pbkdf2Iterations);
        return;
    }
    unsigned char out[32];
    const unsigned char salt[crypto_pwhash_SALTBYTES] = {};
    if (::crypto_pwhash(out, sizeof out, password.data(), password.size(), salt,
                        static_cast<unsigned long long>(_settings.argon2TimeCost),
                        static_cast<std::size_t>(_settings.argon2MemoryKib) * 1024, crypto_pwhash_ALG_ARGON2ID13) != 0)
        throw Poco::OutOfMemoryException("Argon2id could not get its memory");
}

} // namespace identity::host

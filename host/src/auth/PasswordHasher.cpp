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
    if (_settings.pbkdf2Iterations > maximumIterations)
        throw Poco::InvalidArgumentException("passwords.pbkdf2_iterations must be at most 10000000");
    if (_settings.argon2TimeCost < minimumTimeCost || _settings.argon2MemoryKib < minimumMemoryKib ||
        static_cast<unsigned>(_settings.argon2MemoryKib) > maximumMemoryKib ||
        static_cast<unsigned>(_settings.argon2TimeCost) > maximumTimeCost)
        throw Poco::InvalidArgumentException("passwords.argon2.time_cost must be 2 to 16 and "
                                             "passwords.argon2.memory_kib 19456 to 1048576");
}

std::string PasswordHasher::schemeOf(const std::string& encoded)
{
    if (startsWith(encoded, argon2Prefix))
    {
        // Parameters beyond what the configuration may ask for (1 GiB, 16 passes) are refused, not
        // spent: one hash would otherwise cost as much memory and time as a stored row says.
        unsigned memory = 0, passes = 0, lanes = 0;
        int length = 0;
        if (std::sscanf(encoded.c_str(), "$argon2id$v=19$m=%u,t=%u,p=%u$%n", &memory, &passes, &lanes, &length) != 3 ||
            length == 0 || memory > maximumMemoryKib || passes < 1 || passes > maximumTimeCost || lanes != 1)
            return {};
        const std::string scheme = encoded.substr(0, static_cast<std::size_t>(length));
        // Only the canonical spelling ("m=019456" or "t=+2" would be one scheme written two ways).
        return scheme == "$argon2id$v=19$m=" + std::to_string(memory) + ",t=" + std::to_string(passes) + ",p=1$"
                   ? scheme
                   : std::string();
    }
    if (startsWith(encoded, pbkdf2Prefix))
    {
        const std::size_t start = std::char_traits<char>::length(pbkdf2Prefix);
        const std::size_t end = encoded.find('$', start);
        int iterations = 0;
        // A count beyond any this host would write (10 million) is refused: it would cost minutes.
        if (end == std::string::npos || !Poco::NumberParser::tryParse(encoded.substr(start, end - start), iterations) ||
            iterations < 1 || iterations > maximumIterations)
            return {};
        const std::string scheme = encoded.substr(0, end + 1);
        return scheme == pbkdf2Prefix + std::to_string(iterations) + "$" ? scheme : std::string();
    }
    return {};
}

double PasswordHasher::costOf(const std::string& scheme)
{
    if (startsWith(scheme, pbkdf2Prefix))
        return 0.19 * std::stod(scheme.substr(std::char_traits<char>::length(pbkdf2Prefix)));
    unsigned memory = 0, passes = 0;
    if (std::sscanf(scheme.c_str(), "$argon2id$v=19$m=%u,t=%u,", &memory, &passes) != 2)
        return 0;
    return static_cast<double>(memory) * passes;
}

std::string PasswordHasher::scheme() const
{
    if (_settings.algorithm == "pbkdf2-sha256")
        return pbkdf2Prefix + std::to_string(_settings.pbkdf2Iterations) + "$";
    return "$argon2id$v=19$m=" + std::to_string(_settings.argon2MemoryKib) + ",t=" +
           std::to_string(_settings.argon2TimeCost) + ",p=1$";
}

std::string PasswordHasher::pbkdf2(const std::string& password, const std::string& salt, int iterations) const
{
    ++_pbkdf2Hashes;
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
    ++_argon2idHashes;
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
    if (parts.count() != 4 || !Poco::NumberParser::tryParse(parts[1], iterations))
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
    const std::string scheme = schemeOf(encoded);
    if (scheme.empty())
        return false;
    if (startsWith(scheme, pbkdf2Prefix))
        return verifyPbkdf2(password, encoded);
    ++_argon2idHashes;
    // Constant-time; a malformed string, or parameters beyond libsodium's limits, fail.
    return encoded.size() < crypto_pwhash_STRBYTES &&
           ::crypto_pwhash_str_verify(encoded.c_str(), password.data(), password.size()) == 0;
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
    // Any other count, more rounds included: a count above the configured one costs every sign-in
    // more, or is left out of the schemes they spend (PasswordSchemes).
    return !startsWith(encoded, pbkdf2Prefix) || parts.count() != 4 ||
           !Poco::NumberParser::tryParse(parts[1], iterations) || iterations != _settings.pbkdf2Iterations;
}

void PasswordHasher::spend(const std::string& password, const std::string& scheme) const
{
    if (startsWith(scheme, pbkdf2Prefix))
    {
        pbkdf2(password, std::string(16, '\0'), std::stoi(scheme.substr(std::char_traits<char>::length(pbkdf2Prefix))));
        return;
    }
    unsigned memory = 0, passes = 0;
    if (std::sscanf(scheme.c_str(), "$argon2id$v=19$m=%u,t=%u,", &memory, &passes) != 2)
        return;
    ++_argon2idHashes;
    unsigned char out[32];
    const unsigned char salt[crypto_pwhash_SALTBYTES] = {};
    // A scheme below libsodium's floor fails at once, as verifying its hash would: nothing to report.
    if (::crypto_pwhash(out, sizeof out, password.data(), password.size(), salt, passes,
                        static_cast<std::size_t>(memory) * 1024, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return;
}

bool PasswordHasher::verifyUniformly(const std::string& password, const std::string& encoded,
                                     const std::vector<std::string>& schemes) const
{
    const std::string own = encoded.empty() ? std::string() : schemeOf(encoded);
    bool checked = false;
    bool valid = false;
    for (const std::string& scheme : schemes)
    {
        if (!checked && !own.empty() && scheme == own)
        {
            valid = verify(password, encoded);
            checked = true;
        }
        else
            spend(password, scheme);
    }
    // A scheme that appeared since `schemes` was read (another instance's configuration).
    if (!checked && !own.empty())
        valid = verify(password, encoded);
    return valid;
}

} // namespace identity::host

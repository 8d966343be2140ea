#include "auth/PasswordHasher.h"

#include "identity/sdk/Crypto.h"

#include <Poco/Exception.h>
#include <Poco/NumberParser.h>
#include <Poco/StringTokenizer.h>

#include <openssl/evp.h>

namespace identity::host
{

namespace crypto = sdk::crypto;

PasswordHasher::PasswordHasher(int iterations, sdk::SecureRandom& random) : _iterations(iterations), _random(random)
{
    if (iterations < minimumIterations)
        throw Poco::InvalidArgumentException("passwords.pbkdf2_iterations must be at least 600000");
}

std::string PasswordHasher::derive(const std::string& password, const std::string& salt, int iterations)
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
    const std::string salt = _random.bytes(16);
    return "pbkdf2-sha256$" + std::to_string(_iterations) + "$" + crypto::base64UrlEncode(salt) + "$" +
           crypto::base64UrlEncode(derive(password, salt, _iterations));
}

bool PasswordHasher::verify(const std::string& password, const std::string& encoded) const
{
    Poco::StringTokenizer parts(encoded, "$");
    int iterations = 0;
    if (parts.count() != 4 || parts[0] != "pbkdf2-sha256" || !Poco::NumberParser::tryParse(parts[1], iterations) ||
        iterations < 1)
        return false;
    try
    {
        const std::string expected = crypto::base64UrlDecode(parts[3]);
        return crypto::constantTimeEquals(derive(password, crypto::base64UrlDecode(parts[2]), iterations), expected);
    }
    catch (const Poco::DataFormatException&)
    {
        return false;
    }
}

void PasswordHasher::spendVerificationTime(const std::string& password) const
{
    derive(password, std::string(16, '\0'), _iterations);
}

} // namespace identity::host

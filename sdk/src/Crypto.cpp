#include "identity/sdk/Crypto.h"

#include <Poco/Exception.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <chrono>
#include <cstdint>
#include <memory>

namespace identity::sdk::crypto
{

std::string hmacSha256(const std::string& key, const std::string& data)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length))
        throw Poco::SystemException("HMAC-SHA256 failed");
    return std::string(reinterpret_cast<char*>(out), length);
}

std::string sha256(const std::string& data)
{
    unsigned char out[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
    return std::string(reinterpret_cast<char*>(out), sizeof out);
}

bool constantTimeEquals(const std::string& a, const std::string& b)
{
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string toHex(const std::string& bytes)
{
    static const char digits[] = "0123456789abcdef";
    std::string result;
    result.reserve(bytes.size() * 2);
    for (unsigned char c : bytes)
    {
        result += digits[c >> 4];
        result += digits[c & 0x0f];
    }
    return result;
}

namespace
{
const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sextet(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}
} // namespace

std::string base64UrlEncode(const std::string& bytes)
{
    std::string result;
    result.reserve((bytes.size() * 4 + 2) / 3);
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3)
    {
        const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 | (unsigned char)bytes[i + 2];
        result += alphabet[v >> 18 & 63];
        result += alphabet[v >> 12 & 63];
        result += alphabet[v >> 6 & 63];
        result += alphabet[v & 63];
    }
    if (i + 1 == bytes.size())
    {
        const unsigned v = (unsigned char)bytes[i] << 16;
        result += alphabet[v >> 18 & 63];
        result += alphabet[v >> 12 & 63];
    }
    else if (i + 2 == bytes.size())
    {
        const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8;
        result += alphabet[v >> 18 & 63];
        result += alphabet[v >> 12 & 63];
        result += alphabet[v >> 6 & 63];
    }
    return result;
}

std::string base64UrlDecode(const std::string& text)
{
    if (text.size() % 4 == 1)
        throw Poco::DataFormatException("base64url: impossible length");
    std::string result;
    result.reserve(text.size() * 3 / 4);
    unsigned buffer = 0;
    int bits = 0;
    for (char c : text)
    {
        const int v = sextet(c);
        if (v < 0)
            throw Poco::DataFormatException("base64url: invalid character");
        buffer = (buffer << 6) | unsigned(v);
        bits += 6;
        if (bits >= 8)
        {
            bits -= 8;
            result += char((buffer >> bits) & 0xff);
        }
    }
    // Leftover bits must be zero, so that every value has exactly one encoding.
    if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0)
        throw Poco::DataFormatException("base64url: non-canonical encoding");
    return result;
}

namespace
{
struct CipherContextDeleter
{
    void operator()(EVP_CIPHER_CTX* context) const { EVP_CIPHER_CTX_free(context); }
};
using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, CipherContextDeleter>;

constexpr int nonceSize = 12;
constexpr int tagSize = 16;

void requireKey(const std::string& key)
{
    if (key.size() != 32)
        throw Poco::InvalidArgumentException("AES-256-GCM needs a 32-byte key");
}
} // namespace

std::string timeOrderedId()
{
    unsigned char bytes[16];
    if (RAND_bytes(bytes + 6, 10) != 1)
        throw Poco::SystemException("RAND_bytes failed");
    const auto milliseconds = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    for (int i = 0; i < 6; ++i)
        bytes[i] = static_cast<unsigned char>(milliseconds >> (40 - 8 * i));
    bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0F) | 0x70); // version 7
    bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3F) | 0x80); // the RFC's variant
    static const char digits[] = "0123456789abcdef";
    std::string text;
    text.reserve(36);
    for (int i = 0; i < 16; ++i)
    {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            text.push_back('-');
        text.push_back(digits[bytes[i] >> 4]);
        text.push_back(digits[bytes[i] & 0x0F]);
    }
    return text;
}

std::string aesGcmSeal(const std::string& key, const std::string& plaintext, const std::string& associatedData)
{
    requireKey(key);
    std::string out(nonceSize + plaintext.size() + tagSize, '\0');
    auto* bytes = reinterpret_cast<unsigned char*>(out.data());
    if (RAND_bytes(bytes, nonceSize) != 1)
        throw Poco::SystemException("RAND_bytes failed");
    CipherContext context(EVP_CIPHER_CTX_new());
    int length = 0;
    if (!context || EVP_EncryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr,
                                       reinterpret_cast<const unsigned char*>(key.data()), bytes) != 1 ||
        EVP_EncryptUpdate(context.get(), nullptr, &length,
                          reinterpret_cast<const unsigned char*>(associatedData.data()),
                          static_cast<int>(associatedData.size())) != 1 ||
        EVP_EncryptUpdate(context.get(), bytes + nonceSize, &length,
                          reinterpret_cast<const unsigned char*>(plaintext.data()),
                          static_cast<int>(plaintext.size())) != 1 ||
        EVP_EncryptFinal_ex(context.get(), bytes + nonceSize + length, &length) != 1 ||
        EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, tagSize, bytes + nonceSize + plaintext.size()) != 1)
        throw Poco::SystemException("AES-256-GCM encryption failed");
    return out;
}

std::string aesGcmOpen(const std::string& key, const std::string& sealed, const std::string& associatedData)
{
    requireKey(key);
    if (sealed.size() < std::size_t(nonceSize + tagSize))
        throw Poco::DataException("AES-256-GCM: sealed data too short");
    const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
    const std::size_t textSize = sealed.size() - nonceSize - tagSize;
    std::string out(textSize, '\0');
    CipherContext context(EVP_CIPHER_CTX_new());
    int length = 0;
    std::string tag = sealed.substr(nonceSize + textSize);
    if (!context ||
        EVP_DecryptInit_ex(context.get(), EVP_aes_256_gcm(), nullptr,
                           reinterpret_cast<const unsigned char*>(key.data()), bytes) != 1 ||
        EVP_DecryptUpdate(context.get(), nullptr, &length,
                          reinterpret_cast<const unsigned char*>(associatedData.data()),
                          static_cast<int>(associatedData.size())) != 1 ||
        EVP_DecryptUpdate(context.get(), reinterpret_cast<unsigned char*>(out.data()), &length, bytes + nonceSize,
                          static_cast<int>(textSize)) != 1 ||
        EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, tagSize, tag.data()) != 1 ||
        EVP_DecryptFinal_ex(context.get(), reinterpret_cast<unsigned char*>(out.data()) + length, &length) != 1)
        throw Poco::DataException("AES-256-GCM: data does not verify");
    return out;
}

} // namespace identity::sdk::crypto

#pragma once

#include "identity/sdk/Export.h"

#include <string>

/// Small, checked wrappers over OpenSSL for what both the host and plugins need. Strings hold raw bytes.
namespace identity::sdk::crypto
{

/// HMAC-SHA256 (RFC 2104, checked against RFC 4231's vectors in the tests): 32 raw bytes.
IDENTITY_SDK_API std::string hmacSha256(const std::string& key, const std::string& data);

/// SHA-256: 32 raw bytes.
IDENTITY_SDK_API std::string sha256(const std::string& data);

/// Compares in time that depends only on the lengths, not on where the inputs differ.
IDENTITY_SDK_API bool constantTimeEquals(const std::string& a, const std::string& b);

IDENTITY_SDK_API std::string toHex(const std::string& bytes);

/// RFC 4648 section 5, without padding.
IDENTITY_SDK_API std::string base64UrlEncode(const std::string& bytes);

/// Strict: throws Poco::DataFormatException on characters outside the alphabet or on padding.
IDENTITY_SDK_API std::string base64UrlDecode(const std::string& text);

/// A new UUID version 7 (RFC 9562) in its lowercase text form: 48 bits of Unix time in milliseconds,
/// then 74 random bits. Row ids made this way are inserted at the end of their index instead of at a
/// random page, so a commit of many rows writes few pages. It tells when the row was made; use a random
/// token where that must stay secret. (Since SDK 3.1.)
IDENTITY_SDK_API std::string timeOrderedId();

/// AES-256-GCM with a random 96-bit nonce: nonce || ciphertext || 16-byte tag. `key` is 32 bytes;
/// `associatedData` is authenticated, not encrypted (bind the ciphertext to its row).
IDENTITY_SDK_API std::string aesGcmSeal(const std::string& key, const std::string& plaintext,
                                        const std::string& associatedData);

/// Opens what aesGcmSeal produced; throws Poco::DataException when the data or tag do not verify.
IDENTITY_SDK_API std::string aesGcmOpen(const std::string& key, const std::string& sealed,
                                        const std::string& associatedData);

} // namespace identity::sdk::crypto

#pragma once

#include <openssl/evp.h>

#include <string>

namespace identity::test
{

/// Key pairs made with OpenSSL once per test run (RSA 2048 takes a while), each with its PEM files in a
/// temporary folder removed at exit: `<name>.pem` (PKCS#8 private key) and `<name>.pub.pem`
/// (SubjectPublicKeyInfo), as `openssl genpkey` and `openssl pkey -pubout` write them.
///
/// Names: `rsa`, `rsa-b` (RSA 2048), `rsa-1024`, `ec`, `ec-b` (P-256), `ec-384` (P-384), `ed25519`,
/// `ed25519-b`, `ed448`.
class TestKeys
{
public:
    static EVP_PKEY* key(const std::string& name);
    static std::string privateFile(const std::string& name);
    static std::string publicFile(const std::string& name);
    static std::string publicPem(const std::string& name);
    /// The private key under a passphrase (PKCS#8, AES-256-CBC).
    static std::string encryptedPrivateFile(const std::string& name);
    /// A file holding what is given.
    static std::string file(const std::string& name, const std::string& content);

    /// A JWS signature made with plain OpenSSL: RSASSA-PKCS1-v1_5 SHA-256 for RSA, ECDSA SHA-256 as DER
    /// (what OpenSSL makes) or as the raw R||S with S in the lower half of the group (the spelling the
    /// host writes and accepts), Ed25519.
    static std::string sign(const std::string& name, const std::string& input, bool ecdsaDer = false);

    /// The other valid spelling of a raw ECDSA P-256 signature R||S: R||(n - S).
    static std::string otherEcdsaSpelling(const std::string& raw);

    /// Whether the S of a raw ECDSA P-256 signature is in the upper half of the group (S > n / 2).
    static bool ecdsaHighS(const std::string& raw);
};

} // namespace identity::test

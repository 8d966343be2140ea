#pragma once

#include <Poco/JSON/Object.h>

#include <memory>
#include <string>
#include <vector>

namespace identity::host
{

/// One entry of `tokens.keys`, as configured.
struct TokenKeySpec
{
    std::string kid;
    std::string algorithm;      ///< RS256, ES256 or EdDSA
    std::string privateKeyFile; ///< PEM private key: the key can sign (and verifies)
    std::string publicKeyFile;  ///< PEM public key (SubjectPublicKeyInfo): the key only verifies
};

/// The keys that sign and verify the host's JWTs; immutable once made (a reload makes a new set).
///
/// Either HS256 with one secret, or RS256, ES256 or EdDSA with key files: the first key with a private
/// key signs, and every key verifies the tokens whose header names its `kid` with its algorithm, in
/// exactly that case. Signatures are JWS (RFC 7515, 7518, 8037) made with OpenSSL: RS256 is
/// RSASSA-PKCS1-v1_5 with SHA-256 (keys of at least 2048 bits), ES256 is ECDSA on P-256 with SHA-256 as
/// the 64 bytes R||S (a DER signature is refused), EdDSA is Ed25519.
class TokenKeys
{
public:
    /// HS256 keyed with `secret` (at least 32 bytes, or Poco::InvalidArgumentException).
    static std::shared_ptr<const TokenKeys> hmac(const std::string& secret);

    /// RS256, ES256 or EdDSA: reads and checks every key file. Throws Poco::InvalidArgumentException
    /// naming the key (`tokens.keys[i]` and its kid) and the file, never what the file holds: for an
    /// unreadable file, one that holds no PEM key of the expected kind (an encrypted one included), a
    /// key of another type or curve than its algorithm wants, an RSA key under 2048 bits, a kid that
    /// is missing or taken, an unknown algorithm, or when the signing key (the first with a
    /// `private_key_file`) is missing or not of `algorithm`.
    static std::shared_ptr<const TokenKeys> load(const std::string& algorithm,
                                                 const std::vector<TokenKeySpec>& keys);

    ~TokenKeys();
    TokenKeys(const TokenKeys&) = delete;
    TokenKeys& operator=(const TokenKeys&) = delete;

    /// The `alg` of new tokens.
    const std::string& algorithm() const { return _algorithm; }

    /// The `kid` of new tokens; empty under HS256, whose tokens carry none.
    const std::string& signingKid() const;

    /// Whether token headers carry a `kid` (every asymmetric key set) or must not (HS256).
    bool usesKid() const { return _secret.empty(); }

    /// The JWS signature (raw bytes, before base64url) of `signingInput` under the signing key.
    std::string sign(const std::string& signingInput) const;

    /// Whether `signature` (raw bytes) signs `signingInput` under the key that the header's `alg` and
    /// `kid` (empty: none given) name. False, never a throw, for anything else.
    bool verify(const std::string& alg, const std::string& kid, const std::string& signingInput,
                const std::string& signature) const;

    /// `{"keys":[…]}`: the public JWK (RFC 7517) of every key, with `kid`, `alg` and `use: "sig"`, and
    /// nothing private; an empty list under HS256. A new object at every call.
    Poco::JSON::Object::Ptr jwks() const;

    /// One line for the log: the algorithm and the kids that sign and verify (no key material).
    std::string describe() const;

    struct Key; ///< one loaded key (TokenKeys.cpp)

private:
    TokenKeys() = default;

    std::string _algorithm;
    std::string _secret;                           // HS256 only
    std::vector<std::shared_ptr<const Key>> _keys; // as configured
    std::shared_ptr<const Key> _signer;
};

} // namespace identity::host

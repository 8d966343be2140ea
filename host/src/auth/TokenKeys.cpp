#include "auth/TokenKeys.h"

#include "identity/sdk/Crypto.h"

#include <Poco/Exception.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Array.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <cstring>
#include <regex>

namespace identity::host
{

namespace crypto = sdk::crypto;

namespace
{
struct PkeyDeleter
{
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct MdContextDeleter
{
    void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
struct BioDeleter
{
    void operator()(BIO* bio) const { BIO_free(bio); }
};
struct BignumDeleter
{
    void operator()(BIGNUM* number) const { BN_free(number); }
};
struct EcdsaSigDeleter
{
    void operator()(ECDSA_SIG* signature) const { ECDSA_SIG_free(signature); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using MdContext = std::unique_ptr<EVP_MD_CTX, MdContextDeleter>;
using Bio = std::unique_ptr<BIO, BioDeleter>;
using Bignum = std::unique_ptr<BIGNUM, BignumDeleter>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter>;

enum class Kind
{
    Rsa,
    Ec,
    Ed25519
};

constexpr std::size_t maxKeyFileBytes = 64 * 1024;
constexpr int minRsaBits = 2048;
constexpr std::size_t p256Bytes = 32;

const unsigned char* bytes(const std::string& text)
{
    return reinterpret_cast<const unsigned char*>(text.data());
}

/// A refusal to prompt: a passphrase-protected key fails to load instead of asking a terminal.
int noPassphrase(char*, int, int, void*)
{
    return 0;
}

bool kindOf(const std::string& algorithm, Kind& kind)
{
    if (algorithm == "RS256")
        kind = Kind::Rsa;
    else if (algorithm == "ES256")
        kind = Kind::Ec;
    else if (algorithm == "EdDSA")
        kind = Kind::Ed25519;
    else
        return false;
    return true;
}

std::string readKeyFile(const std::string& path, const std::string& where)
{
    std::string text;
    try
    {
        Poco::FileInputStream in(path);
        char buffer[4096];
        while (in.read(buffer, sizeof buffer) || in.gcount() > 0)
        {
            text.append(buffer, static_cast<std::size_t>(in.gcount()));
            if (text.size() > maxKeyFileBytes)
                throw Poco::InvalidArgumentException(where + ": " + path +
                                                     " is larger than 64 KiB; not a PEM key");
        }
    }
    catch (const Poco::InvalidArgumentException&)
    {
        throw;
    }
    catch (const Poco::Exception& error)
    {
        throw Poco::InvalidArgumentException(where + ": cannot read " + path + " (" + error.name() + ")");
    }
    return text;
}

Pkey readPem(const std::string& text, bool privateKey)
{
    Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    if (!bio)
        return nullptr;
    Pkey key(privateKey ? PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr)
                        : PEM_read_bio_PUBKEY(bio.get(), nullptr, noPassphrase, nullptr));
    ERR_clear_error();
    return key;
}

/// Why `key` cannot serve `algorithm` ("" when it can).
std::string unsuitability(EVP_PKEY* key, Kind kind, const std::string& algorithm, const std::string& path)
{
    const char* type = EVP_PKEY_get0_type_name(key);
    // "an": every type name OpenSSL gives here (RSA, RSA-PSS, EC, ED25519, ED448, X25519, DSA, DH…) is
    // read with a vowel first.
    const std::string held =
        path + " holds an " + (type ? std::string(type) : std::string("unknown")) + " key";
    switch (kind)
    {
    case Kind::Rsa:
        if (!EVP_PKEY_is_a(key, "RSA"))
            return algorithm + " needs an RSA key; " + held;
        if (EVP_PKEY_get_bits(key) < minRsaBits)
            return algorithm + " needs an RSA key of at least 2048 bits; " + path + " holds one of " +
                   std::to_string(EVP_PKEY_get_bits(key));
        return {};
    case Kind::Ec:
    {
        if (!EVP_PKEY_is_a(key, "EC"))
            return algorithm + " needs an EC key on P-256; " + held;
        char group[80] = {0};
        std::size_t length = 0;
        if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) != 1)
            return algorithm + " needs an EC key on P-256; " + path + " holds one on an unnamed curve";
        int nid = OBJ_sn2nid(group);
        if (nid == NID_undef)
            nid = EC_curve_nist2nid(group);
        if (nid != NID_X9_62_prime256v1)
            return algorithm + " needs an EC key on P-256; " + path + " holds one on " + group;
        return {};
    }
    case Kind::Ed25519:
        if (!EVP_PKEY_is_a(key, "ED25519"))
            return algorithm + " needs an Ed25519 key; " + held;
        return {};
    }
    return "unknown algorithm";
}

std::string bignumParameter(EVP_PKEY* key, const char* name, std::size_t width = 0)
{
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, name, &raw) != 1)
        throw Poco::IllegalStateException(std::string("cannot read the public key's ") + name);
    Bignum number(raw);
    std::string out(width ? width : static_cast<std::size_t>(BN_num_bytes(number.get())), '\0');
    if (BN_bn2binpad(number.get(), reinterpret_cast<unsigned char*>(&out[0]), static_cast<int>(out.size())) <
        0)
        throw Poco::IllegalStateException(std::string("cannot encode the public key's ") + name);
    return out;
}

/// The public JWK's members that describe the key itself (RFC 7518 section 6, RFC 8037 section 2).
std::vector<std::pair<std::string, std::string>> publicMembers(EVP_PKEY* key, Kind kind)
{
    switch (kind)
    {
    case Kind::Rsa:
        return {{"kty", "RSA"},
                {"n", crypto::base64UrlEncode(bignumParameter(key, OSSL_PKEY_PARAM_RSA_N))},
                {"e", crypto::base64UrlEncode(bignumParameter(key, OSSL_PKEY_PARAM_RSA_E))}};
    case Kind::Ec:
        // Coordinates at the curve's full width, as RFC 7518 section 6.2.1.2 requires.
        return {{"kty", "EC"},
                {"crv", "P-256"},
                {"x", crypto::base64UrlEncode(bignumParameter(key, OSSL_PKEY_PARAM_EC_PUB_X, p256Bytes))},
                {"y", crypto::base64UrlEncode(bignumParameter(key, OSSL_PKEY_PARAM_EC_PUB_Y, p256Bytes))}};
    case Kind::Ed25519:
    {
        std::string raw(32, '\0');
        std::size_t length = raw.size();
        if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(&raw[0]), &length) != 1 ||
            length != 32)
            throw Poco::IllegalStateException("cannot read the Ed25519 public key");
        return {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", crypto::base64UrlEncode(raw)}};
    }
    }
    return {};
}

/// P-256's group order n, and n / 2 (rounded down), big-endian.
constexpr unsigned char p256Order[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
                                         0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
constexpr unsigned char p256HalfOrder[32] = {0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff,
                                             0xff, 0xff, 0xff, 0xff, 0xff, 0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b,
                                             0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8};

/// ECDSA's DER signature as JWS wants it: R and S, each as 32 big-endian bytes, with S in the lower
/// half of the group (n - S when above it). (R, S) and (R, n - S) are both valid signatures of one
/// token: only the low one is written, and the high one refused, so that a token has one spelling.
std::string derToRaw(const std::string& der)
{
    const unsigned char* cursor = bytes(der);
    EcdsaSig signature(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der.size())));
    if (!signature)
        throw Poco::IllegalStateException("ECDSA produced no signature");
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(signature.get(), &r, &s);
    std::string raw(2 * p256Bytes, '\0');
    unsigned char* out = reinterpret_cast<unsigned char*>(&raw[0]);
    if (BN_bn2binpad(r, out, p256Bytes) < 0 || BN_bn2binpad(s, out + p256Bytes, p256Bytes) < 0)
        throw Poco::IllegalStateException("ECDSA produced a signature too wide for P-256");
    if (std::memcmp(out + p256Bytes, p256HalfOrder, p256Bytes) > 0)
    {
        Bignum order(BN_bin2bn(p256Order, p256Bytes, nullptr));
        Bignum low(BN_new());
        if (!order || !low || BN_sub(low.get(), order.get(), s) != 1 ||
            BN_bn2binpad(low.get(), out + p256Bytes, p256Bytes) < 0)
            throw Poco::IllegalStateException("cannot normalise an ECDSA signature");
    }
    return raw;
}

/// JWS's 64 bytes R||S as the DER that OpenSSL verifies; "" when they are not 64 bytes, or S is in
/// the upper half of the group (the other spelling of a low-S signature, see derToRaw).
std::string rawToDer(const std::string& raw)
{
    if (raw.size() != 2 * p256Bytes || std::memcmp(bytes(raw) + p256Bytes, p256HalfOrder, p256Bytes) > 0)
        return {};
    EcdsaSig signature(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(bytes(raw), p256Bytes, nullptr);
    BIGNUM* s = BN_bin2bn(bytes(raw) + p256Bytes, p256Bytes, nullptr);
    if (!signature || !r || !s || ECDSA_SIG_set0(signature.get(), r, s) != 1)
    {
        BN_free(r);
        BN_free(s);
        return {};
    }
    unsigned char* der = nullptr;
    const int length = i2d_ECDSA_SIG(signature.get(), &der);
    if (length <= 0)
        return {};
    std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
    OPENSSL_free(der);
    return out;
}
} // namespace

struct TokenKeys::Key
{
    std::string kid;
    std::string algorithm;
    Kind kind = Kind::Rsa;
    Pkey key;
    bool canSign = false;
    std::vector<std::pair<std::string, std::string>> jwk; // the public members, then kid, alg and use

    /// SHA-256 for RS256 and ES256; none for Ed25519, which hashes the message itself.
    const EVP_MD* digest() const { return kind == Kind::Ed25519 ? nullptr : EVP_sha256(); }

    std::string sign(const std::string& input) const
    {
        MdContext context(EVP_MD_CTX_new());
        std::string signature(static_cast<std::size_t>(EVP_PKEY_get_size(key.get())), '\0');
        std::size_t length = signature.size();
        if (!context || EVP_DigestSignInit(context.get(), nullptr, digest(), nullptr, key.get()) != 1 ||
            EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(&signature[0]), &length,
                           bytes(input), input.size()) != 1)
        {
            ERR_clear_error();
            throw Poco::IllegalStateException("cannot sign a token with key '" + kid + "'");
        }
        signature.resize(length);
        return kind == Kind::Ec ? derToRaw(signature) : signature;
    }

    bool verify(const std::string& input, const std::string& signature) const
    {
        const std::string checked = kind == Kind::Ec ? rawToDer(signature) : signature;
        if (checked.empty() || (kind == Kind::Ed25519 && signature.size() != 64) ||
            (kind == Kind::Rsa && signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key.get()))))
            return false;
        MdContext context(EVP_MD_CTX_new());
        const bool valid =
            context && EVP_DigestVerifyInit(context.get(), nullptr, digest(), nullptr, key.get()) == 1 &&
            EVP_DigestVerify(context.get(), bytes(checked), checked.size(), bytes(input), input.size()) == 1;
        // A failed check leaves errors queued on this thread, where Poco's TLS code would find them later.
        ERR_clear_error();
        return valid;
    }
};

TokenKeys::~TokenKeys() = default;

std::shared_ptr<const TokenKeys> TokenKeys::hmac(const std::string& secret)
{
    if (secret.size() < 32)
        throw Poco::InvalidArgumentException("tokens.secret must be at least 32 bytes");
    std::shared_ptr<TokenKeys> keys(new TokenKeys);
    keys->_algorithm = "HS256";
    keys->_secret = secret;
    return keys;
}

std::shared_ptr<const TokenKeys> TokenKeys::load(const std::string& algorithm,
                                                 const std::vector<TokenKeySpec>& specs)
{
    Kind signingKind;
    if (!kindOf(algorithm, signingKind))
        throw Poco::InvalidArgumentException("tokens.algorithm must be HS256, RS256, ES256 or EdDSA");
    if (specs.empty())
        throw Poco::InvalidArgumentException(
            "tokens.keys: " + algorithm +
            " needs at least one key with a private_key_file (the signing key)");
    static const std::regex kidPattern("[A-Za-z0-9._-]{1,64}");
    std::shared_ptr<TokenKeys> keys(new TokenKeys);
    keys->_algorithm = algorithm;
    for (std::size_t i = 0; i < specs.size(); ++i)
    {
        const TokenKeySpec& spec = specs[i];
        const std::string index = "tokens.keys[" + std::to_string(i) + "]";
        if (!std::regex_match(spec.kid, kidPattern))
            throw Poco::InvalidArgumentException(index + ": kid must be 1 to 64 of A-Z a-z 0-9 . _ -");
        const std::string where = index + " (kid '" + spec.kid + "')";
        for (const auto& other : keys->_keys)
            if (other->kid == spec.kid)
                throw Poco::InvalidArgumentException(where +
                                                     ": another key has this kid; each needs its own");
        auto key = std::make_shared<Key>();
        key->kid = spec.kid;
        key->algorithm = spec.algorithm;
        if (!kindOf(spec.algorithm, key->kind))
            throw Poco::InvalidArgumentException(where + ": algorithm must be RS256, ES256 or EdDSA");
        if (spec.privateKeyFile.empty() == spec.publicKeyFile.empty())
            throw Poco::InvalidArgumentException(
                where + ": needs exactly one of private_key_file and public_key_file");
        key->canSign = !spec.privateKeyFile.empty();
        const std::string& path = key->canSign ? spec.privateKeyFile : spec.publicKeyFile;
        key->key = readPem(readKeyFile(path, where), key->canSign);
        if (!key->key)
            throw Poco::InvalidArgumentException(
                where + ": " + path +
                (key->canSign
                     ? " holds no PEM private key (or an encrypted one, which is not supported)"
                     : " holds no PEM public key (a PUBLIC KEY block, as openssl pkey -pubout writes)"));
        const std::string why = unsuitability(key->key.get(), key->kind, key->algorithm, path);
        if (!why.empty())
            throw Poco::InvalidArgumentException(where + ": " + why);
        key->jwk = publicMembers(key->key.get(), key->kind);
        key->jwk.emplace_back("kid", key->kid);
        key->jwk.emplace_back("alg", key->algorithm);
        key->jwk.emplace_back("use", "sig");
        if (key->canSign && !keys->_signer)
        {
            if (key->algorithm != algorithm)
                throw Poco::InvalidArgumentException(
                    where + ": it signs (the first key with a private_key_file) but is " + key->algorithm +
                    ", and tokens.algorithm is " + algorithm);
            keys->_signer = key;
        }
        keys->_keys.push_back(key);
    }
    if (!keys->_signer)
        throw Poco::InvalidArgumentException(
            "tokens.keys: no key has a private_key_file; the first that has one signs");
    return keys;
}

const std::string& TokenKeys::signingKid() const
{
    static const std::string none;
    return _signer ? _signer->kid : none;
}

std::string TokenKeys::sign(const std::string& signingInput) const
{
    if (_signer)
        return _signer->sign(signingInput);
    return crypto::hmacSha256(_secret, signingInput);
}

bool TokenKeys::verify(const std::string& alg, const std::string& kid, const std::string& signingInput,
                       const std::string& signature) const
{
    if (!_signer)
        return alg == "HS256" && kid.empty() &&
               crypto::constantTimeEquals(signature, crypto::hmacSha256(_secret, signingInput));
    for (const auto& key : _keys)
        if (key->kid == kid)
            return key->algorithm == alg && key->verify(signingInput, signature);
    return false;
}

Poco::JSON::Object::Ptr TokenKeys::jwks() const
{
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    for (const auto& key : _keys)
    {
        Poco::JSON::Object::Ptr jwk = new Poco::JSON::Object;
        for (const auto& member : key->jwk)
            jwk->set(member.first, member.second);
        list->add(jwk);
    }
    Poco::JSON::Object::Ptr set = new Poco::JSON::Object;
    set->set("keys", list);
    return set;
}

std::string TokenKeys::describe() const
{
    if (!_signer)
        return "tokens are signed with HS256 (tokens.secret)";
    std::string kids;
    for (const auto& key : _keys)
        kids += (kids.empty() ? "" : ", ") + key->kid + " (" + key->algorithm + ")";
    return "tokens are signed with " + _algorithm + " by key '" + _signer->kid +
           "'; the keys that verify: " + kids;
}

} // namespace identity::host

#include "support/TestKeys.h"

#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/TemporaryFile.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/pem.h>

#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace identity::test
{

namespace
{
struct PkeyFree
{
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey generate(const std::string& name)
{
    EVP_PKEY* key = nullptr;
    if (name == "rsa" || name == "rsa-b")
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
    else if (name == "rsa-1024")
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024));
    else if (name == "ec" || name == "ec-b")
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    else if (name == "ec-384")
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
    else if (name == "ed25519" || name == "ed25519-b")
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    else if (name == "ed448")
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448");
    if (!key)
        throw std::runtime_error("cannot make test key " + name);
    return Pkey(key);
}

std::string pem(const std::function<int(BIO*)>& write)
{
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    if (!bio || write(bio.get()) != 1)
        throw std::runtime_error("cannot write a PEM key");
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

struct Store
{
    std::mutex mutex;
    std::string folder;
    std::map<std::string, Pkey> keys;

    ~Store()
    {
        if (!folder.empty())
            Poco::File(folder).remove(true);
    }

    std::string path(const std::string& file)
    {
        if (folder.empty())
        {
            folder = Poco::TemporaryFile::tempName();
            Poco::File(folder).createDirectories();
        }
        return folder + "/" + file;
    }

    EVP_PKEY* key(const std::string& name)
    {
        auto found = keys.find(name);
        if (found != keys.end())
            return found->second.get();
        Pkey made = generate(name);
        EVP_PKEY* key = made.get();
        write(path(name + ".pem"),
              pem([key](BIO* bio)
                  { return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr); }));
        write(path(name + ".pub.pem"), pem([key](BIO* bio) { return PEM_write_bio_PUBKEY(bio, key); }));
        keys.emplace(name, std::move(made));
        return key;
    }

    static void write(const std::string& path, const std::string& content)
    {
        Poco::FileOutputStream out(path);
        out << content;
    }
};

Store& store()
{
    static Store instance;
    return instance;
}

std::string readAll(const std::string& path)
{
    Poco::FileInputStream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
} // namespace

EVP_PKEY* TestKeys::key(const std::string& name)
{
    std::lock_guard<std::mutex> lock(store().mutex);
    return store().key(name);
}

std::string TestKeys::privateFile(const std::string& name)
{
    key(name);
    std::lock_guard<std::mutex> lock(store().mutex);
    return store().path(name + ".pem");
}

std::string TestKeys::publicFile(const std::string& name)
{
    key(name);
    std::lock_guard<std::mutex> lock(store().mutex);
    return store().path(name + ".pub.pem");
}

std::string TestKeys::publicPem(const std::string& name)
{
    return readAll(publicFile(name));
}

std::string TestKeys::encryptedPrivateFile(const std::string& name)
{
    EVP_PKEY* pkey = key(name);
    std::lock_guard<std::mutex> lock(store().mutex);
    const std::string path = store().path(name + ".encrypted.pem");
    static char passphrase[] = "test-passphrase";
    Store::write(path, pem(
                           [pkey](BIO* bio) {
                               return PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(), nullptr, 0,
                                                                    nullptr, passphrase);
                           }));
    return path;
}

std::string TestKeys::file(const std::string& name, const std::string& content)
{
    std::lock_guard<std::mutex> lock(store().mutex);
    const std::string path = store().path(name);
    Store::write(path, content);
    return path;
}

std::string TestKeys::sign(const std::string& name, const std::string& input, bool ecdsaDer)
{
    EVP_PKEY* pkey = key(name);
    const bool ed = EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_is_a(pkey, "ED448");
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::string signature(static_cast<std::size_t>(EVP_PKEY_get_size(pkey)), '\0');
    std::size_t length = signature.size();
    if (EVP_DigestSignInit(context.get(), nullptr, ed ? nullptr : EVP_sha256(), nullptr, pkey) != 1 ||
        EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(&signature[0]), &length,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
        throw std::runtime_error("cannot sign with test key " + name);
    signature.resize(length);
    if (!EVP_PKEY_is_a(pkey, "EC") || ecdsaDer)
        return signature;
    const unsigned char* cursor = reinterpret_cast<const unsigned char*>(signature.data());
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> parsed(
        d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(signature.size())), ECDSA_SIG_free);
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(parsed.get(), &r, &s);
    const int width = (EVP_PKEY_get_bits(pkey) + 7) / 8;
    std::string raw(2 * static_cast<std::size_t>(width), '\0');
    BN_bn2binpad(r, reinterpret_cast<unsigned char*>(&raw[0]), width);
    BN_bn2binpad(s, reinterpret_cast<unsigned char*>(&raw[0]) + width, width);
    return ecdsaHighS(raw) ? otherEcdsaSpelling(raw) : raw;
}

namespace
{
/// P-256's group order, from OpenSSL.
const BIGNUM* p256Order()
{
    static const std::unique_ptr<EC_GROUP, decltype(&EC_GROUP_free)> group(
        EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1), EC_GROUP_free);
    return EC_GROUP_get0_order(group.get());
}

using Number = std::unique_ptr<BIGNUM, decltype(&BN_free)>;

Number sOf(const std::string& raw)
{
    if (raw.size() != 64)
        throw std::invalid_argument("not a raw P-256 signature");
    return Number(BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr), BN_free);
}
} // namespace

std::string TestKeys::otherEcdsaSpelling(const std::string& raw)
{
    const Number s = sOf(raw);
    Number other(BN_new(), BN_free);
    BN_sub(other.get(), p256Order(), s.get());
    std::string result = raw;
    BN_bn2binpad(other.get(), reinterpret_cast<unsigned char*>(&result[0]) + 32, 32);
    return result;
}

bool TestKeys::ecdsaHighS(const std::string& raw)
{
    const Number s = sOf(raw);
    Number half(BN_dup(p256Order()), BN_free);
    BN_rshift1(half.get(), half.get());
    return BN_cmp(s.get(), half.get()) > 0;
}

} // namespace identity::test

// JWT parsing and verification (TokenService's public methods) on tokens from the fuzzer, with a
// fixed HS256 key. An input is used two ways: as a token as it is, and, split at its first NUL into a
// header and a payload, as a token signed with the right key (so the checks behind the signature
// are reached too). Properties: the verifiers accept or throw their documented ApiError (401 4010,
// 403 4030) and nothing else; an accepted token carries a valid signature under the key; no token
// passes for both an access and a sudo token; whatever verifyAccessToken accepts,
// tryReadOwnAccessToken reads with the same claims. Only the constructor and the public methods are
// used, so other algorithms can be added here with other TokenKeys (TokenKeys::load).
#include "FuzzSupport.h"

#include "auth/TokenKeys.h"
#include "auth/TokenService.h"
#include "support/SystemClock.h"
#include "support/SystemRandom.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

#include <Poco/Exception.h>

using namespace identity;

namespace
{
const std::string key = "fuzzing key, 32 bytes or more, fixed";
constexpr Poco::Int64 nowSeconds = 1750000000;

host::TokenSettings settings()
{
    host::TokenSettings settings;
    settings.issuer = "https://id.example.com";
    settings.audience = "dev";
    return settings;
}

struct Fixture
{
    host::ManualClock clock{nowSeconds * 1000};
    host::SystemRandom random;
    host::TokenService tokens{settings(), host::TokenKeys::hmac(key), clock, random};
};

Fixture& fixture()
{
    static Fixture instance;
    return instance;
}

/// The token's signature is HMAC-SHA256 under the key over its first two segments.
bool signedWithKey(const std::string& jwt)
{
    const auto last = jwt.rfind('.');
    if (last == std::string::npos)
        return false;
    try
    {
        return sdk::crypto::base64UrlDecode(jwt.substr(last + 1)) ==
               sdk::crypto::hmacSha256(key, jwt.substr(0, last));
    }
    catch (const Poco::Exception&)
    {
        return false;
    }
}

void check(const std::string& jwt)
{
    host::TokenService& tokens = fixture().tokens;
    bool access = false, sudo = false;
    host::TokenClaims accessClaims, sudoClaims, read;
    try
    {
        accessClaims = tokens.verifyAccessToken(jwt);
        access = true;
    }
    catch (const sdk::ApiError& error)
    {
        FUZZ_REQUIRE(error.status() == 401 && error.errorCode() == 4010);
    }
    try
    {
        sudoClaims = tokens.verifySudoToken(jwt);
        sudo = true;
    }
    catch (const sdk::ApiError& error)
    {
        FUZZ_REQUIRE(error.status() == 403 && error.errorCode() == 4030);
    }
    const bool own = tokens.tryReadOwnAccessToken(jwt, read);
    FUZZ_REQUIRE(!(access && sudo));
    if (access || sudo || own)
        FUZZ_REQUIRE(signedWithKey(jwt));
    if (access)
    {
        FUZZ_REQUIRE(own);
        FUZZ_REQUIRE(read.userId == accessClaims.userId && read.sessionId == accessClaims.sessionId &&
                     read.expiresAt == accessClaims.expiresAt);
        FUZZ_REQUIRE(!accessClaims.userId.empty() && accessClaims.expiresAt > nowSeconds);
    }
    if (sudo)
        FUZZ_REQUIRE(!sudoClaims.userId.empty() && !sudoClaims.tokenId.empty() &&
                     sudoClaims.expiresAt > nowSeconds);
}
} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    // The issuer's own tokens pass, each for its kind only: the properties above are not vacuous.
    host::TokenService& tokens = fixture().tokens;
    const std::string access = tokens.issueAccessToken("user-1", "session-1");
    const std::string sudo = tokens.issueSudoToken("user-1", "session-1");
    FUZZ_REQUIRE(tokens.verifyAccessToken(access).userId == "user-1");
    FUZZ_REQUIRE(tokens.verifySudoToken(sudo).userId == "user-1");
    check(access);
    check(sudo);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size)
{
    const std::string input(reinterpret_cast<const char*>(data), size);
    check(input);
    const auto split = input.find('\0');
    if (split != std::string::npos)
    {
        const std::string signingInput = sdk::crypto::base64UrlEncode(input.substr(0, split)) + "." +
                                         sdk::crypto::base64UrlEncode(input.substr(split + 1));
        check(signingInput + "." + sdk::crypto::base64UrlEncode(sdk::crypto::hmacSha256(key, signingInput)));
    }
    return 0;
}

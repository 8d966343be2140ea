#pragma once

#include "auth/TokenKeys.h"

#include <Poco/Util/AbstractConfiguration.h>

#include <set>
#include <string>
#include <vector>

namespace identity::host
{

/// What signs tokens: `tokens.algorithm`, `tokens.secret` and `tokens.keys`. Read at start and again at
/// every configuration reload, which can rotate the keys without a restart.
struct TokenSigningSettings
{
    std::string algorithm;          ///< HS256, RS256, ES256 or EdDSA
    std::string secret;             ///< as configured (a reference such as `file:…`); SecretStore resolves it
    std::vector<TokenKeySpec> keys; ///< as configured; TokenKeys reads and checks the files

    /// Throws Poco::InvalidArgumentException naming the key for an unknown algorithm, or for keys
    /// listed under HS256.
    static TokenSigningSettings read(const Poco::Util::AbstractConfiguration& config);
};

/// The host's configuration, read and checked once, when the server is made. Defaults and bounds come
/// from the host schema (schema/config.schema.json, compiled in; see ConfigValidator::hostKey), so they
/// are written in one place; a value outside them throws Poco::InvalidArgumentException naming the key.
/// The secrets (`tokens.secret`) are resolved by SecretStore, not here.
struct HostSettings
{
    // server
    std::string host;
    int port = 0;
    std::string portFile;
    int threads = 0;
    int maxQueued = 0;
    int maxBodyBytes = 0;
    int drainSeconds = 0;
    int requestTimeout = 0;   ///< seconds
    int keepAliveTimeout = 0; ///< seconds
    int writeTimeout = 0;     ///< seconds
    int maxConnections = 0;
    int connectionsPerAddress = 0;
    std::set<std::string> trustedProxies;
    std::string tlsCertificate;
    std::string tlsPrivateKey;
    // environment
    std::string environmentId;
    std::set<std::string> clients; ///< always holds environmentId
    // storage and secrets
    std::string storageUrl;
    std::string secretsFile;
    bool generateSecrets = false;
    // tokens
    std::string issuer;
    std::string audience; ///< defaults to environmentId
    TokenSigningSettings signing;
    int accessTtl = 0;
    int refreshTtl = 0;
    int sudoTtl = 0;
    // passwords
    std::string passwordAlgorithm;
    int argon2TimeCost = 0;
    int argon2MemoryKib = 0;
    int hashSlots = 0; ///< 0: the number of cores
    int hashWaiting = 0;
    int hashWaitMs = 0;
    int signInsPerMinute = 0;
    int signInBurst = 0;
    int pbkdf2Iterations = 0;
    int failuresBeforeLock = 0;
    int accountFailuresBeforeLock = 0;
    int lockSeconds = 0;
    std::string passwordRecordKey; ///< as configured: resolved by the secret store
    // development and administration
    bool development = false;
    int debounceMs = 0;
    std::string adminToken; ///< empty: no admin API

    static HostSettings read(const Poco::Util::AbstractConfiguration& config);
};

} // namespace identity::host

#include "app/HostSettings.h"

#include "app/ConfigValidator.h"

#include <Poco/Exception.h>

namespace identity::host
{

namespace
{
int integer(const Poco::Util::AbstractConfiguration& config, const std::string& key)
{
    const ConfigValidator::KeyFacts facts = ConfigValidator::hostKey(key);
    const int fallback = facts.fallback.isEmpty() ? 0 : facts.fallback.convert<int>();
    int value = 0;
    try
    {
        value = config.getInt(key, fallback);
    }
    catch (const Poco::SyntaxException&)
    {
        throw Poco::InvalidArgumentException(key + " must be an integer");
    }
    const bool low = facts.minimum && value < *facts.minimum, high = facts.maximum && value > *facts.maximum;
    if (low || high)
    {
        std::string bounds;
        if (facts.minimum)
            bounds += "at least " + std::to_string(static_cast<long long>(*facts.minimum));
        if (facts.maximum)
            bounds += (bounds.empty() ? "at most " : " and at most ") + std::to_string(static_cast<long long>(*facts.maximum));
        throw Poco::InvalidArgumentException(key + " must be " + bounds);
    }
    return value;
}

std::string text(const Poco::Util::AbstractConfiguration& config, const std::string& key)
{
    const ConfigValidator::KeyFacts facts = ConfigValidator::hostKey(key);
    return config.getString(key, facts.fallback.isEmpty() ? std::string() : facts.fallback.convert<std::string>());
}

bool flag(const Poco::Util::AbstractConfiguration& config, const std::string& key)
{
    const ConfigValidator::KeyFacts facts = ConfigValidator::hostKey(key);
    return config.getBool(key, !facts.fallback.isEmpty() && facts.fallback.convert<bool>());
}

std::set<std::string> list(const Poco::Util::AbstractConfiguration& config, const std::string& key)
{
    std::set<std::string> values;
    for (int i = 0; config.has(key + "[" + std::to_string(i) + "]"); ++i)
        values.insert(config.getString(key + "[" + std::to_string(i) + "]"));
    return values;
}
} // namespace

TokenSigningSettings TokenSigningSettings::read(const Poco::Util::AbstractConfiguration& config)
{
    TokenSigningSettings s;
    s.algorithm = text(config, "tokens.algorithm");
    if (s.algorithm != "HS256" && s.algorithm != "RS256" && s.algorithm != "ES256" && s.algorithm != "EdDSA")
        throw Poco::InvalidArgumentException("tokens.algorithm must be HS256, RS256, ES256 or EdDSA");
    s.secret = config.getString("tokens.secret", "");
    for (int i = 0;; ++i)
    {
        const std::string key = "tokens.keys[" + std::to_string(i) + "]";
        if (!config.has(key + ".kid") && !config.has(key + ".algorithm") &&
            !config.has(key + ".private_key_file") && !config.has(key + ".public_key_file"))
            break;
        s.keys.push_back(TokenKeySpec{
            config.getString(key + ".kid", ""), config.getString(key + ".algorithm", ""),
            config.getString(key + ".private_key_file", ""), config.getString(key + ".public_key_file", "")});
    }
    if (s.algorithm == "HS256" && !s.keys.empty())
        throw Poco::InvalidArgumentException("tokens.keys: key files sign with RS256, ES256 or EdDSA, but "
                                             "tokens.algorithm is HS256 (the list must be empty)");
    return s;
}

HostSettings HostSettings::read(const Poco::Util::AbstractConfiguration& config)
{
    HostSettings s;
    s.host = text(config, "server.host");
    s.port = integer(config, "server.port");
    s.portFile = text(config, "server.port_file");
    s.threads = integer(config, "server.threads");
    s.maxQueued = integer(config, "server.max_queued");
    s.maxBodyBytes = integer(config, "server.max_body_bytes");
    s.drainSeconds = integer(config, "server.drain_seconds");
    s.requestTimeout = integer(config, "server.request_timeout");
    s.keepAliveTimeout = integer(config, "server.keep_alive_timeout");
    s.writeTimeout = integer(config, "server.write_timeout");
    s.maxConnections = integer(config, "server.max_connections");
    s.connectionsPerAddress = integer(config, "server.connections_per_address");
    s.trustedProxies = list(config, "server.trusted_proxies");
    s.tlsCertificate = text(config, "server.tls.certificate");
    s.tlsPrivateKey = text(config, "server.tls.private_key");
    if (s.tlsCertificate.empty() != s.tlsPrivateKey.empty())
        throw Poco::InvalidArgumentException("server.tls needs both certificate and private_key");

    s.environmentId = text(config, "environment.id");
    s.clients = list(config, "environment.clients");
    s.clients.insert(s.environmentId);

    s.storageUrl = text(config, "storage.url");
    s.secretsFile = text(config, "secrets.file");
    s.generateSecrets = flag(config, "secrets.generate");

    s.issuer = text(config, "tokens.issuer");
    s.audience = config.getString("tokens.audience", s.environmentId);
    s.signing = TokenSigningSettings::read(config);
    s.accessTtl = integer(config, "tokens.access_ttl");
    s.refreshTtl = integer(config, "tokens.refresh_ttl");
    s.sudoTtl = integer(config, "tokens.sudo_ttl");

    s.passwordAlgorithm = text(config, "passwords.algorithm");
    s.argon2TimeCost = integer(config, "passwords.argon2.time_cost");
    s.argon2MemoryKib = integer(config, "passwords.argon2.memory_kib");
    s.pbkdf2Iterations = integer(config, "passwords.pbkdf2_iterations");
    s.hashSlots = integer(config, "passwords.hash_slots");
    s.hashWaiting = integer(config, "passwords.hash_waiting");
    s.hashWaitMs = integer(config, "passwords.hash_wait_ms");
    s.signInsPerMinute = integer(config, "passwords.signins_per_minute");
    s.signInBurst = integer(config, "passwords.signin_burst");
    s.failuresBeforeLock = integer(config, "passwords.failures_before_lock");
    s.accountFailuresBeforeLock = integer(config, "passwords.account_failures_before_lock");
    s.lockSeconds = integer(config, "passwords.lock_seconds");
    s.passwordRecordKey = config.getString("passwords.record_key", "");

    s.development = flag(config, "development.enabled");
    s.debounceMs = integer(config, "development.debounce_ms");

    // An unset variable leaves `${…}` in place: that, like empty, means no admin API.
    const std::string admin = config.getString("admin.token", "");
    if (!admin.empty() && admin.find("${") == std::string::npos)
    {
        if (admin.size() < 32)
            throw Poco::InvalidArgumentException("admin.token must be at least 32 characters");
        s.adminToken = admin;
    }
    return s;
}

} // namespace identity::host

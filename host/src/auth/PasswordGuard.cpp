#include "auth/PasswordGuard.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

#include <Poco/Logger.h>
#include <Poco/Net/IPAddress.h>

#include <algorithm>

namespace identity::host
{

using sdk::Value;

namespace
{
constexpr Poco::Int64 day = 86400;
constexpr Poco::Int64 knownClientDays = 180;

std::string accountSubject(const std::string& userId) { return "account:" + userId; }
std::string checkSubject(const std::string& userId) { return "user:" + userId; }
} // namespace

PasswordGuard::PasswordGuard(sdk::Storage& storage, const sdk::Clock& clock, sdk::AuditLog& audit,
                             PasswordLimits limits, std::string recordKey)
    : _storage(storage), _clock(clock), _audit(audit), _limits(limits), _recordKey(std::move(recordKey))
{
    if (_recordKey.size() < 32)
        throw Poco::InvalidArgumentException("passwords.record_key must be at least 32 bytes");
    if (limits.failuresBeforeLock < 1 || limits.failuresBeforeLock > 100 || limits.lockSeconds < 1 ||
        limits.accountFailuresBeforeLock < limits.failuresBeforeLock || limits.accountFailuresBeforeLock > 100)
        throw Poco::InvalidArgumentException(
            "passwords.failures_before_lock must be 1 to 100, passwords.account_failures_before_lock from "
            "failures_before_lock to 100, and passwords.lock_seconds at least 1");
}

bool PasswordGuard::checkRecordKey()
{
    const std::string fingerprint =
        sdk::crypto::toHex(sdk::crypto::hmacSha256(_recordKey, "identity record key fingerprint v1"));
    std::string stored;
    _storage.write([&](sdk::Transaction& transaction) {
        const sdk::Result found = transaction.execute(
            "SELECT fingerprint FROM key_fingerprints WHERE name = 'passwords.record_key'");
        stored = found.empty() ? std::string() : found.front().text(0);
        // The first key is kept: one host (or command) started with a wrong key must not make the
        // right ones look wrong, nor a second wrong one look right.
        if (stored.empty())
            transaction.execute("INSERT INTO key_fingerprints(name, fingerprint, updated_at) "
                                "VALUES ('passwords.record_key', $1, $2) ON CONFLICT (name) DO NOTHING",
                                {Value(fingerprint), Value(_clock.now())});
    });
    if (stored.empty() || stored == fingerprint)
        return true;
    Poco::Logger::get("identity.host")
        .warning("passwords.record_key is not the key this database's sign-in records were made with: known "
                 "clients and per-name guessing counts made under the other key are no longer matched (an "
                 "owner's known devices are forgotten while their account is locked). Every instance on one "
                 "database needs the same key. After a deliberate rotation, once every instance has the new "
                 "key: DELETE FROM key_fingerprints WHERE name = 'passwords.record_key'");
    return false;
}

std::string PasswordGuard::clientKey(const std::string& address) noexcept
{
    try
    {
        return clientKeyOf(address);
    }
    catch (...)
    {
        return address; // never seen; but the connection front's event thread calls this
    }
}

std::string PasswordGuard::clientKeyOf(const std::string& address)
{
    Poco::Net::IPAddress parsed;
    if (!Poco::Net::IPAddress::tryParse(address, parsed))
        return address;
    // Without its scope (a link-local peer's `%eth0`): Poco refuses to mask an address with one, and the
    // scope names this host's interface, not the client.
    const Poco::Net::IPAddress ip(parsed.addr(), parsed.length());
    if (ip.family() == Poco::Net::IPAddress::IPv6)
    {
        const auto* raw = static_cast<const unsigned char*>(ip.addr());
        static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
        // An IPv4 client behind NAT64 (64:ff9b::/96) or written IPv4-compatible (::a.b.c.d) is that IPv4
        // address, as an IPv4-mapped one is: otherwise they would all be one /64.
        if (ip.isIPv4Mapped() || (ip.isIPv4Compatible() && !ip.isLoopback() && !ip.isWildcard()) ||
            std::equal(nat64, nat64 + 12, raw))
        {
            const auto* bytes = raw;
            return std::to_string(bytes[12]) + "." + std::to_string(bytes[13]) + "." + std::to_string(bytes[14]) +
                   "." + std::to_string(bytes[15]);
        }
        // One subscriber usually holds a whole /64: counted per address, each of its 2^64 would be a new
        // client.
        return (ip & Poco::Net::IPAddress(64, Poco::Net::IPAddress::IPv6)).toString() + "/64";
    }
    return ip.toString();
}

PasswordGuard::Place PasswordGuard::take(sdk::Transaction& transaction, const std::string& subject, int limit,
                                         Poco::Int64 timestamp)
{
    // One statement: the row is locked (PostgreSQL) or the writer is one (SQLite) while it counts, so
    // every parallel check gets a place of its own.
    const sdk::Result counted = transaction.execute(
        "INSERT INTO password_failures(subject, consecutive, locked_until, updated_at, locks) VALUES ($1, 1, 0, $2, 0) "
        "ON CONFLICT (subject) DO UPDATE SET "
        "consecutive = CASE WHEN password_failures.locked_until > $2 THEN password_failures.consecutive "
        "ELSE password_failures.consecutive + 1 END, "
        "updated_at = CASE WHEN password_failures.locked_until > $2 THEN password_failures.updated_at ELSE $2 END "
        "RETURNING consecutive, locked_until, locks",
        {Value(subject), Value(timestamp)});
    const sdk::Row& row = counted.front();
    Place place;
    place.lockedUntil = row.integer(1);
    if (place.lockedUntil > timestamp)
        return place; // locked: nothing counted
    place.taken = true;
    if (row.integer(0) < limit)
        return place;
    // This place is the last before the lock: it is still checked, and a right password lifts the lock.
    const Poco::Int64 locks = row.integer(2);
    place.lockedUntil = timestamp + std::min<Poco::Int64>(day, Poco::Int64(_limits.lockSeconds) << std::min<Poco::Int64>(locks, 7));
    place.lockedNow = true;
    transaction.execute(
        "UPDATE password_failures SET consecutive = 0, locked_until = $1, locks = locks + 1 WHERE subject = $2",
        {Value(place.lockedUntil), Value(subject)});
    return place;
}

void PasswordGuard::recordLock(const std::string& scope, const std::string& userId, Poco::Int64 lockedUntil,
                               Poco::Int64 timestamp)
{
    Poco::JSON::Object fields;
    fields.set("scope", scope);
    fields.set("retry_after", lockedUntil - timestamp);
    if (userId.empty())
        fields.set("login", "unknown");
    _audit.record("password_locked", userId, fields);
}

PasswordGuard::Attempt PasswordGuard::beginSignIn(const std::string& field, const std::string& login,
                                                  const std::string& clientAddress, const std::string& userId)
{
    Attempt attempt;
    attempt.userId = userId;
    attempt.client = sdk::crypto::toHex(sdk::crypto::hmacSha256(_recordKey, "client|" + clientKey(clientAddress)));
    const std::string name = "login:" + sdk::crypto::toHex(sdk::crypto::hmacSha256(
                                            _recordKey, "login|" + field + "|" + login + "|" + attempt.client));
    const Poco::Int64 timestamp = _clock.now();
    Place named, account;
    bool known = false;
    bool refused = false;
    _storage.write([&](sdk::Transaction& transaction) {
        account = Place();
        known = false;
        refused = false;
        if (!userId.empty())
        {
            known = !transaction
                         .execute("SELECT 1 FROM known_clients WHERE user_id = $1 AND client = $2",
                                  {Value(userId), Value(attempt.client)})
                         .empty();
            // Locked for every client that never signed in: this one is refused unchecked, so nothing is
            // guessed, and the account's count takes nothing (the owner's own tries from a new device must
            // not prolong the attack's lock).
            const sdk::Result lock = transaction.execute(
                "SELECT locked_until FROM password_failures WHERE subject = $1", {Value(accountSubject(userId))});
            refused = !known && !lock.empty() && lock.front().integer(0) > timestamp;
        }
        // The name's count for this client takes its place all the same, as it does for a name without
        // an account: were a refused name never locked for this client, it would answer 401 where every
        // other name answers 429, and tell which names are the locked account's.
        named = take(transaction, name, _limits.failuresBeforeLock, timestamp);
        if (refused || !named.taken || userId.empty())
            return;
        account = take(transaction, accountSubject(userId), _limits.accountFailuresBeforeLock, timestamp);
    });
    if (!named.taken)
    {
        ++_lockRefusals;
        throw sdk::ApiError::resourceExhausted(static_cast<int>(named.lockedUntil - timestamp));
    }
    attempt.subjects.push_back(name);
    if (named.lockedNow)
        recordLock("client", userId, named.lockedUntil, timestamp);
    if (refused)
    {
        attempt.refused = true; // succeeded() is never called for it: its place counts as a failure
        return attempt;
    }
    if (userId.empty())
        return attempt;
    if (account.taken)
        attempt.subjects.push_back(accountSubject(userId));
    if (account.lockedNow)
        recordLock("account", userId, account.lockedUntil, timestamp);
    // Locked meanwhile (by a parallel check): refused as above, though this client's place was taken.
    attempt.refused = !account.taken && !known;
    return attempt;
}

PasswordGuard::Attempt PasswordGuard::beginCheck(const std::string& userId)
{
    Attempt attempt;
    attempt.userId = userId;
    const Poco::Int64 timestamp = _clock.now();
    Place place;
    _storage.write([&](sdk::Transaction& transaction) {
        // Not about an account deleted a moment ago: its row would never be dropped with it.
        transaction.lock(sdk::userLockKey(userId));
        place = Place();
        if (transaction.execute("SELECT id FROM users WHERE id = $1", {Value(userId)}).empty())
            return;
        place = take(transaction, checkSubject(userId), _limits.failuresBeforeLock, timestamp);
    });
    if (!place.taken && place.lockedUntil > timestamp)
    {
        ++_lockRefusals;
        throw sdk::ApiError::resourceExhausted(static_cast<int>(place.lockedUntil - timestamp));
    }
    if (place.taken)
        attempt.subjects.push_back(checkSubject(userId));
    if (place.lockedNow)
        recordLock("account", userId, place.lockedUntil, timestamp);
    return attempt;
}

void PasswordGuard::succeeded(const Attempt& attempt)
{
    const Poco::Int64 timestamp = _clock.now();
    _storage.write([&](sdk::Transaction& transaction) {
        // The user's lock first, as a deletion takes it before it drops these rows: the other order could
        // deadlock with it on PostgreSQL.
        if (!attempt.userId.empty())
            transaction.lock(sdk::userLockKey(attempt.userId));
        for (const std::string& subject : attempt.subjects)
            transaction.execute("DELETE FROM password_failures WHERE subject = $1", {Value(subject)});
        if (attempt.client.empty() || attempt.userId.empty())
            return;
        if (transaction.execute("SELECT id FROM users WHERE id = $1", {Value(attempt.userId)}).empty())
            return; // deleted a moment ago
        transaction.execute("INSERT INTO known_clients(user_id, client, last_seen) VALUES ($1, $2, $3) "
                            "ON CONFLICT (user_id, client) DO UPDATE SET last_seen = $3",
                            {Value(attempt.userId), Value(attempt.client), Value(timestamp)});
    });
}

void PasswordGuard::forget(sdk::Transaction& transaction, const std::string& userId)
{
    transaction.execute("DELETE FROM password_failures WHERE subject = $1 OR subject = $2",
                        {Value(checkSubject(userId)), Value(accountSubject(userId))});
    transaction.execute("DELETE FROM known_clients WHERE user_id = $1", {Value(userId)});
}

std::size_t PasswordGuard::prune(int batch)
{
    const Poco::Int64 timestamp = _clock.now();
    std::size_t removed = 0;
    _storage.write([&](sdk::Transaction& transaction) {
        removed = transaction
                      .execute("DELETE FROM password_failures WHERE subject IN (SELECT subject FROM password_failures "
                               "WHERE locked_until <= $1 AND (updated_at < $2 OR (updated_at < $3 AND locks = 0 AND "
                               "subject NOT LIKE 'account:%')) LIMIT $4)",
                               {Value(timestamp), Value(timestamp - day), Value(timestamp - _limits.lockSeconds),
                                Value(batch)})
                      .affected;
        removed += transaction
                       .execute("DELETE FROM known_clients WHERE (user_id, client) IN (SELECT user_id, client FROM "
                                "known_clients WHERE last_seen < $1 LIMIT $2)",
                                {Value(timestamp - knownClientDays * day), Value(batch)})
                       .affected;
    });
    return removed;
}

} // namespace identity::host

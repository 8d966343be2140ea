#pragma once

#include <chrono>
#include <cstdint>
#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>

namespace identity::host
{

/// Sign-in attempts per client address, before anything else is done for them (no database write, no
/// hash): a token bucket of `burst` attempts per client, refilled at `perMinute` a minute. An attempt
/// over it is refused with 429 4290 and `Retry-After` (the seconds until the next token). It counts
/// every attempt, right or wrong, per instance and in memory; PasswordGuard's counts, in the database,
/// are what limit guessing. Clients are keyed as PasswordGuard keys them (an IPv6 address by its /64).
/// At most `maxClients` buckets are kept; full ones go first when the table is pruned.
class SignInThrottle
{
public:
    using Clock = std::chrono::steady_clock;

    SignInThrottle(int perMinute, int burst, std::size_t maxClients = 100000);

    /// Takes one attempt for `client`; throws ApiError 429 when its bucket is empty. `perMinute` 0: no
    /// throttle.
    void admit(const std::string& client, Clock::time_point now = Clock::now());

    std::uint64_t refused() const { return _refused; }
    std::size_t clients() const;

private:
    struct Bucket
    {
        double tokens;
        Clock::time_point updated;
    };

    double refill(Bucket& bucket, Clock::time_point now) const;
    void prune(Clock::time_point now);

    const double _perSecond;
    const double _burst;
    const std::size_t _maxClients;
    mutable std::mutex _mutex;
    std::unordered_map<std::string, Bucket> _buckets;
    std::atomic<std::uint64_t> _refused{0};
};

} // namespace identity::host

#include "auth/SignInThrottle.h"

#include "identity/sdk/ApiError.h"

#include <algorithm>
#include <cmath>

namespace identity::host
{

SignInThrottle::SignInThrottle(int perMinute, int burst, std::size_t maxClients)
    : _perSecond(perMinute > 0 ? perMinute / 60.0 : 0), _burst(burst < 1 ? 1 : burst),
      _maxClients(maxClients < 1 ? 1 : maxClients)
{
}

double SignInThrottle::refill(Bucket& bucket, Clock::time_point now) const
{
    const double seconds = std::chrono::duration<double>(now - bucket.updated).count();
    if (seconds > 0)
    {
        bucket.tokens = std::min(_burst, bucket.tokens + seconds * _perSecond);
        bucket.updated = now;
    }
    return bucket.tokens;
}

void SignInThrottle::admit(const std::string& client, Clock::time_point now)
{
    if (_perSecond <= 0)
        return;
    std::lock_guard<std::mutex> lock(_mutex);
    auto found = _buckets.find(client);
    if (found == _buckets.end())
    {
        if (_buckets.size() >= _maxClients)
            prune(now);
        found = _buckets.emplace(client, Bucket{_burst, now}).first;
    }
    Bucket& bucket = found->second;
    if (refill(bucket, now) < 1.0)
    {
        ++_refused;
        const int wait = static_cast<int>(std::ceil((1.0 - bucket.tokens) / _perSecond));
        throw sdk::ApiError::resourceExhausted(std::max(1, wait));
    }
    bucket.tokens -= 1.0;
}

void SignInThrottle::prune(Clock::time_point now)
{
    // Full buckets hold nothing worth keeping; then those with a token left. A throttled client (no token)
    // is dropped only when every client in the table is one, and then half of them, in no order: with
    // that many addresses an attacker gets a fresh burst on some of them. PasswordGuard's counts, in the
    // database, are the limit on guessing; this throttle only paces.
    for (auto it = _buckets.begin(); it != _buckets.end();)
        it = refill(it->second, now) >= _burst ? _buckets.erase(it) : std::next(it);
    for (auto it = _buckets.begin(); it != _buckets.end() && _buckets.size() >= _maxClients;)
        it = it->second.tokens >= 1.0 ? _buckets.erase(it) : std::next(it);
    if (_buckets.size() < _maxClients)
        return;
    std::size_t drop = _buckets.size() / 2;
    for (auto it = _buckets.begin(); it != _buckets.end() && drop > 0; --drop)
        it = _buckets.erase(it);
}

std::size_t SignInThrottle::clients() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _buckets.size();
}

} // namespace identity::host

#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace identity::host
{

/// Admission to password hashing, the one expensive thing a request can make the host do (Argon2id
/// takes 19 MiB and about 50 ms of a core; a PBKDF2 check 140 ms). At most `slots` hashes run at once,
/// and at most `waiting` requests wait for a slot, each for at most `maxWait`; any other is refused at
/// once with 503 5030 and `Retry-After: 1` (ApiError), so that a sign-in flood holds a bounded number of
/// worker threads, memory and cores, and every other route keeps being served.
class HashingSlots
{
public:
    HashingSlots(int slots, int waiting, std::chrono::milliseconds maxWait);

    /// A slot, held until it is destroyed.
    class Slot
    {
    public:
        explicit Slot(HashingSlots* owner) : _owner(owner) {}
        Slot(Slot&& other) noexcept : _owner(other._owner) { other._owner = nullptr; }
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;
        Slot& operator=(Slot&&) = delete;
        ~Slot();

    private:
        HashingSlots* _owner;
    };

    /// Waits for a slot; throws ApiError 503 (`overloaded`, Retry-After 1) when none frees in time or
    /// too many wait already.
    Slot acquire();

    int slots() const { return _slots; }
    int busy() const;
    int waiting() const;
    std::uint64_t admitted() const { return _admitted; }
    std::uint64_t refused() const { return _refused; }

private:
    void release();

    const int _slots;
    const int _maxWaiting;
    const std::chrono::milliseconds _maxWait;
    mutable std::mutex _mutex;
    std::condition_variable _freed;
    int _busy = 0;
    int _waiting = 0;
    std::atomic<std::uint64_t> _admitted{0};
    std::atomic<std::uint64_t> _refused{0};
};

} // namespace identity::host

#include "auth/HashingSlots.h"

#include "identity/sdk/ApiError.h"

namespace identity::host
{

HashingSlots::HashingSlots(int slots, int waiting, std::chrono::milliseconds maxWait)
    : _slots(slots < 1 ? 1 : slots), _maxWaiting(waiting < 0 ? 0 : waiting), _maxWait(maxWait)
{
}

HashingSlots::Slot::~Slot()
{
    if (_owner)
        _owner->release();
}

HashingSlots::Slot HashingSlots::acquire()
{
    std::unique_lock<std::mutex> lock(_mutex);
    if (_busy < _slots && _waiting == 0)
    {
        ++_busy;
        ++_admitted;
        return Slot(this);
    }
    if (_waiting >= _maxWaiting)
    {
        ++_refused;
        throw sdk::ApiError::unavailable("overloaded").withRetryAfter(1);
    }
    ++_waiting;
    const bool got = _freed.wait_for(lock, _maxWait, [this] { return _busy < _slots; });
    --_waiting;
    if (!got)
    {
        ++_refused;
        throw sdk::ApiError::unavailable("overloaded").withRetryAfter(1);
    }
    ++_busy;
    ++_admitted;
    return Slot(this);
}

void HashingSlots::release()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        --_busy;
    }
    _freed.notify_one();
}

int HashingSlots::busy() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _busy;
}

int HashingSlots::waiting() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _waiting;
}

} // namespace identity::host

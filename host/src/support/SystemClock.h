#pragma once

#include "identity/sdk/Clock.h"

#include <atomic>

namespace identity::host
{

/// The real wall clock.
class SystemClock : public sdk::Clock
{
public:
    Poco::Int64 nowMillis() const override;
};

/// A clock that only moves when told to: tests use it to expire codes and tokens without waiting.
class ManualClock : public sdk::Clock
{
public:
    explicit ManualClock(Poco::Int64 startMillis);

    Poco::Int64 nowMillis() const override { return _millis.load(); }
    void advanceSeconds(Poco::Int64 seconds) { _millis += seconds * 1000; }

private:
    std::atomic<Poco::Int64> _millis;
};

} // namespace identity::host

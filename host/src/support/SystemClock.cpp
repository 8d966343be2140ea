#include "support/SystemClock.h"

#include <chrono>

namespace identity::host
{

Poco::Int64 SystemClock::nowMillis() const
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

ManualClock::ManualClock(Poco::Int64 startMillis) : _millis(startMillis) {}

} // namespace identity::host

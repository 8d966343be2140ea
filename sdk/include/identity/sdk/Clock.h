#pragma once

#include "identity/sdk/Export.h"

#include <Poco/Types.h>

namespace identity::sdk
{

/// Wall-clock time as the product sees it. The host gives the real clock to production plugins and a
/// settable one to tests, so that no test waits 300 seconds for a code to expire.
class IDENTITY_SDK_API Clock
{
public:
    virtual ~Clock();

    /// Milliseconds since the Unix epoch.
    virtual Poco::Int64 nowMillis() const = 0;

    /// Seconds since the Unix epoch (what the database stores).
    Poco::Int64 now() const { return nowMillis() / 1000; }
};

} // namespace identity::sdk

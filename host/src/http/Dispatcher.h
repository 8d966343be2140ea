#pragma once

#include "http/RouteTable.h"
#include "support/Snapshot.h"

namespace identity::host
{

/// Holds the route table being served and swaps in a new one atomically.
using Dispatcher = Snapshot<RouteTable>;

} // namespace identity::host

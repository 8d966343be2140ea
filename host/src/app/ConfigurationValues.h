#pragma once

#include <Poco/Util/AbstractConfiguration.h>

#include <map>
#include <string>

namespace identity::host
{

/// Every leaf key under `prefix` (all of the configuration when empty, less the `system` and
/// `application` keys Poco adds) with its value after `${…}` expansion. Used to see what a reload
/// changed; the values may be secrets: compare them, never log them.
std::map<std::string, std::string> configurationValues(const Poco::Util::AbstractConfiguration& config,
                                                       const std::string& prefix = "");

} // namespace identity::host

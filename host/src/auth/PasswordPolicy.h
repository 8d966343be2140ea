#pragma once

#include <string>

namespace identity::host
{

/// The password policy: 8 to 64 characters (Unicode code points) with an upper-case letter, a
/// lower-case letter, a digit and a symbol; no control characters; valid UTF-8.
class PasswordPolicy
{
public:
    static bool accepts(const std::string& password);
};

} // namespace identity::host

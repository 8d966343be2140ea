#include "auth/PasswordPolicy.h"

#include <Poco/UTF8Encoding.h>

namespace identity::host
{

bool PasswordPolicy::accepts(const std::string& password)
{
    Poco::UTF8Encoding utf8;
    if (password.empty())
        return false;
    std::size_t length = 0;
    bool upper = false, lower = false, digit = false, symbol = false;
    const auto* p = reinterpret_cast<const unsigned char*>(password.data());
    const auto* end = p + password.size();
    while (p < end)
    {
        const int n = utf8.sequenceLength(p, static_cast<int>(end - p));
        if (n <= 0 || p + n > end)
            return false;
        const int cp = utf8.queryConvert(p, n);
        if (cp < 0)
            return false;
        if (cp < 0x20 || cp == 0x7f)
            return false;
        if (cp >= 'A' && cp <= 'Z')
            upper = true;
        else if (cp >= 'a' && cp <= 'z')
            lower = true;
        else if (cp >= '0' && cp <= '9')
            digit = true;
        else
            symbol = true;
        ++length;
        p += n;
    }
    return length >= 8 && length <= 64 && upper && lower && digit && symbol;
}

} // namespace identity::host

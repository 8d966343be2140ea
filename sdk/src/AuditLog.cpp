#include "identity/sdk/AuditLog.h"

namespace identity::sdk
{

std::string AuditLog::mask(const std::string& emailOrPhone)
{
    const auto at = emailOrPhone.find('@');
    if (at != std::string::npos)
    {
        // Keep the first character of the local part and the whole domain.
        const std::string local = emailOrPhone.substr(0, at);
        return (local.empty() ? std::string() : local.substr(0, 1)) + "***" + emailOrPhone.substr(at);
    }
    if (emailOrPhone.size() <= 4)
        return std::string(emailOrPhone.size(), '*');
    // Keep the country prefix ("+86") and the last four digits.
    const std::size_t head = emailOrPhone[0] == '+' ? 3 : 0;
    const std::size_t keepHead = head < emailOrPhone.size() - 4 ? head : 0;
    return emailOrPhone.substr(0, keepHead) + std::string(emailOrPhone.size() - keepHead - 4, '*') +
           emailOrPhone.substr(emailOrPhone.size() - 4);
}

} // namespace identity::sdk

#include "app/HostAuditLog.h"

#include <sstream>

namespace identity::host
{

HostAuditLog::HostAuditLog() : _logger(Poco::Logger::get("identity.audit")) {}

void HostAuditLog::record(const std::string& event, const std::string& userId, const Poco::JSON::Object& fields)
{
    Poco::JSON::Object line(fields);
    line.set("type", "audit");
    line.set("event", event);
    line.set("user_id", userId);
    std::ostringstream text;
    line.stringify(text);
    _logger.notice(text.str());
}

} // namespace identity::host

#pragma once

#include "identity/sdk/AuditLog.h"

#include <Poco/Logger.h>

namespace identity::host
{

/// Writes audit events as JSON lines to the `identity.audit` logger.
class HostAuditLog : public sdk::AuditLog
{
public:
    HostAuditLog();

    void record(const std::string& event, const std::string& userId, const Poco::JSON::Object& fields) override;

private:
    Poco::Logger& _logger;
};

} // namespace identity::host

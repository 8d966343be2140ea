#pragma once

#include "identity/sdk/Export.h"

#include <Poco/JSON/Object.h>

#include <string>

namespace identity::sdk
{

/// The audit trail: one JSON line per security event (code sent, verified, failed, burned, limited,
/// delivered, delivery failed). Fields must never hold codes, tokens, passwords, or unmasked email
/// addresses and phone numbers (see `mask`).
class IDENTITY_SDK_API AuditLog
{
public:
    virtual ~AuditLog();

    virtual void record(const std::string& event, const std::string& userId, const Poco::JSON::Object& fields) = 0;

    /// `a***@example.com`, `+86*******8000`: enough to recognise, not enough to reveal.
    static std::string mask(const std::string& emailOrPhone);
};

} // namespace identity::sdk

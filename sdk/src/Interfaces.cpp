// Out-of-line destructors: they anchor each interface's vtable and type information in the SDK library,
// so that the host and every plugin share one copy.
#include "identity/sdk/AuditLog.h"
#include "identity/sdk/Clock.h"
#include "identity/sdk/Http.h"
#include "identity/sdk/Notifier.h"
#include "identity/sdk/Plugin.h"
#include "identity/sdk/PluginContext.h"
#include "identity/sdk/SecureRandom.h"
#include "identity/sdk/Service.h"
#include "identity/sdk/Storage.h"

namespace identity::sdk
{

unsigned runtimeVersion() { return IDENTITY_SDK_VERSION; }

Plugin::~Plugin() = default;
PluginContext::~PluginContext() = default;
Request::~Request() = default;
Service::~Service() = default;
CodeVerifier::~CodeVerifier() = default;
UserDataOwner::~UserDataOwner() = default;
AccountEventListener::~AccountEventListener() = default;
AdminCommand::~AdminCommand() = default;
MetricsWriter::~MetricsWriter() = default;
Notifier::~Notifier() = default;
Clock::~Clock() = default;
Storage::~Storage() = default;
AuditLog::~AuditLog() = default;
SecureRandom::~SecureRandom() = default;

DeliveryError::DeliveryError(const std::string& what, bool transient, int retryAfterSeconds)
    : std::runtime_error(what), _transient(transient), _retryAfter(retryAfterSeconds < 0 ? 0 : retryAfterSeconds)
{
}

DeliveryError::~DeliveryError() = default;

} // namespace identity::sdk

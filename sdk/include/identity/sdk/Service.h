#pragma once

#include "identity/sdk/Export.h"
#include "identity/sdk/Http.h"

#include "identity/sdk/Storage.h"

#include <string>

namespace identity::sdk
{

/// Base of everything a plugin offers to the host or to other plugins through
/// `PluginContext::provideService`. The host holds the plugin loaded while it uses a service.
class IDENTITY_SDK_API Service
{
public:
    virtual ~Service();
};

/// Checks a one-time code the user received (the reauthentication plugin provides it); the host's
/// `POST /auth/v1/user/sudo` with `{"verification_code"}` calls it.
class IDENTITY_SDK_API CodeVerifier : public Service
{
public:
    static constexpr const char* serviceName = "code-verifier";

    ~CodeVerifier() override;

    /// Returns when `code` is the live code of this user and session, and spends it. Throws ApiError:
    /// 400 4001 for a malformed code, 400 4002 when wrong, expired, used or burned, 429 4290 when code
    /// verification is locked for the account.
    virtual void verify(const Principal& principal, const std::string& code, const Request& request) = 0;
};

/// The hook by which a plugin that keeps data about users has it erased when a user is deleted (plugin
/// tables hold no foreign key into the host's). Every service whose name starts with `prefix` is called
/// inside the host's deletion unit of work: what it erases is committed with the deletion, or not at all.
class IDENTITY_SDK_API UserDataOwner : public Service
{
public:
    static constexpr const char* prefix = "user-data:";

    ~UserDataOwner() override;

    virtual void eraseUser(Transaction& transaction, const std::string& userId) = 0;
};

} // namespace identity::sdk

#pragma once

#include "identity/sdk/Export.h"
#include "identity/sdk/Http.h"

#include <Poco/Data/Session.h>

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

/// A plugin that keeps data about users provides one of these so that deleting a user erases it.
/// Services whose name starts with `prefix` are called, inside the host's deletion transaction.
class IDENTITY_SDK_API UserDataOwner : public Service
{
public:
    static constexpr const char* prefix = "user-data:";

    ~UserDataOwner() override;

    virtual void eraseUser(Poco::Data::Session& session, const std::string& userId) = 0;
};

} // namespace identity::sdk

#pragma once

#include "identity/sdk/Export.h"
#include "identity/sdk/Http.h"

#include "identity/sdk/Storage.h"

#include <Poco/JSON/Array.h>

#include <map>
#include <string>
#include <vector>

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

/// A change to an account that its owner should hear of, as the host tells it (SDK 3.2).
struct AccountEvent
{
    enum class Kind
    {
        PasswordChanged, ///< by the owner's session (sudo or old password); the other sessions ended
        AccountDeleted   ///< the account and every plugin's data about it are gone with this unit of work
    };
    Kind kind = Kind::PasswordChanged;
    Poco::Int64 timestamp = 0; ///< when, Unix seconds
    std::string userId;
    /// The account as it was, for a notice: its bound email and phone ("" when none), and its locale
    /// ("en" or "zh"). Nothing secret.
    std::string username;
    std::string email;
    std::string phoneNumber;
    std::string locale;
};

/// Hears of changes to accounts (a plugin that sends account notices provides one). Every service whose
/// name starts with `prefix` is called inside the host's unit of work that makes the change, after the
/// change (and, for a deletion, after every `UserDataOwner` erased its rows): what it writes, such as
/// an outbox row, is committed with the change or not at all, and it must not fail the change for
/// anything but the database. Later SDK versions may add kinds: ignore those you do not know.
class IDENTITY_SDK_API AccountEventListener : public Service
{
public:
    static constexpr const char* prefix = "account-events:";

    ~AccountEventListener() override;

    virtual void accountChanged(Transaction& transaction, const AccountEvent& event) = 0;
};

/// What an operator's command answers: rows of JSON objects, printed by the host as one JSON document
/// (`--format=json`) or as a table of `columns` (`--format=table`). Nothing secret, and addresses masked.
struct AdminOutput
{
    std::vector<std::string> columns;
    Poco::JSON::Array::Ptr rows = new Poco::JSON::Array;
};

/// A command a plugin adds to the host's command line (SDK 3.2): a service named `prefix` + its words,
/// `admin-command:outbox list` for `identity-host outbox list`. The host runs it on the same
/// configuration, with the plugins loaded but not serving (`PluginContext::serving()` is false).
class IDENTITY_SDK_API AdminCommand : public Service
{
public:
    static constexpr const char* prefix = "admin-command:";

    ~AdminCommand() override;

    /// One line for `--help`: its options and what it does.
    virtual std::string summary() const = 0;

    /// Runs with the options given on the command line (`--id=X` is {"id", "X"}). Throws
    /// Poco::InvalidArgumentException for an option it cannot use (the host exits 64, usage), an
    /// ApiError or another exception for what failed.
    virtual AdminOutput run(const std::map<std::string, std::string>& options) = 0;
};

} // namespace identity::sdk

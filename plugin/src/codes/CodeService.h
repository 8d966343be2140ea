#pragma once

#include "codes/ReauthenticateSettings.h"
#include "codes/SendLimits.h"
#include "delivery/Outbox.h"

#include "identity/sdk/PluginContext.h"
#include "identity/sdk/Service.h"

#include <functional>
#include <memory>
#include <string>

namespace identity::reauth
{

/// The life of a reauthentication code: issued (limits checked, earlier codes replaced, code stored as
/// an HMAC, message queued, all in one transaction), then verified at most once, burned after too many
/// wrong tries, with an account-wide lock after too many consecutive failures.
class CodeService : public sdk::CodeVerifier
{
public:
    static constexpr const char* purpose = "reauthenticate";

    CodeService(sdk::PluginContext& context, const ReauthenticateSettings& settings, std::shared_ptr<Outbox> outbox,
                std::string pepper, std::string outboxKey, std::function<void(const std::string& channel)> queued);

    /// `channel` is "email" or "sms"; `destination` the bound address or number.
    void issue(const sdk::Principal& principal, const std::string& channel, const std::string& destination,
               const sdk::Request& request);

    void verify(const sdk::Principal& principal, const std::string& code, const sdk::Request& request) override;

    /// The stored form of a code: HMAC-SHA256(pepper, user id, purpose, code), hex.
    std::string codeHash(const std::string& userId, const std::string& code) const;

private:
    /// Counts a failed verification for the account (and locks it at the threshold); true when the
    /// account is now locked. `consecutive` receives the count before any lock reset it.
    bool countFailure(sdk::Transaction& transaction, const std::string& userId, Poco::Int64 timestamp,
                      int& consecutive);

    sdk::PluginContext& _context;
    const ReauthenticateSettings _settings;
    std::shared_ptr<Outbox> _outbox;
    SendLimits _limits;
    std::string _pepper;
    std::string _outboxKey;
    std::function<void(const std::string& channel)> _queued; ///< a message for `channel` is in the outbox
};

/// The account notices (SPEC section 6): after a password change and after an account deletion, an email
/// to the account's bound address, in its language, with no secret in it. Written to the outbox inside
/// the host's unit of work that makes the change, so a change that commits has its notice and one that
/// fails has none, and delivered like a code, retried for a day. Nothing for an account without an
/// email address, or while the email channel is off.
class AccountNotices : public sdk::AccountEventListener
{
public:
    static constexpr Poco::Int64 lifetimeSeconds = 86400;

    AccountNotices(std::shared_ptr<Outbox> outbox, bool emailOn, std::function<void()> wake)
        : _outbox(std::move(outbox)), _emailOn(emailOn), _wake(std::move(wake))
    {
    }

    void accountChanged(sdk::Transaction& transaction, const sdk::AccountEvent& event) override;

private:
    std::shared_ptr<Outbox> _outbox;
    bool _emailOn;
    std::function<void()> _wake;
};

/// Erases the plugin's rows of a deleted user.
class ReauthenticationUserData : public sdk::UserDataOwner
{
public:
    explicit ReauthenticationUserData(std::shared_ptr<Outbox> outbox) : _outbox(std::move(outbox)) {}

    void eraseUser(sdk::Transaction& transaction, const std::string& userId) override;

private:
    std::shared_ptr<Outbox> _outbox;
};

} // namespace identity::reauth

#pragma once

#include "codes/CodeService.h"

#include "identity/sdk/Http.h"

#include <memory>
#include <set>

namespace identity::reauth
{

/// `POST /auth/v1/user/reauthenticate` (SPEC section 3): sends a one-time code to the signed-in user's
/// bound email (`verify_opt: "email_code"`) or phone (`"phone_code"`) and answers `{}` once the message
/// is durably queued.
class ReauthenticateHandler
{
public:
    /// `channels` are the channels with a configured notifier ("email", "sms").
    ReauthenticateHandler(std::shared_ptr<CodeService> codes, std::set<std::string> channels);

    void operator()(const sdk::Request& request, sdk::Response& response) const;

private:
    std::shared_ptr<CodeService> _codes;
    std::set<std::string> _channels;
};

} // namespace identity::reauth

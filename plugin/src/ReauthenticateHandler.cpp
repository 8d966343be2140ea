#include "ReauthenticateHandler.h"

#include "identity/sdk/ApiError.h"

namespace identity::reauth
{

using sdk::ApiError;

ReauthenticateHandler::ReauthenticateHandler(std::shared_ptr<CodeService> codes, std::set<std::string> channels)
    : _codes(std::move(codes)), _channels(std::move(channels))
{
}

void ReauthenticateHandler::operator()(const sdk::Request& request, sdk::Response& response) const
{
    const Poco::JSON::Object& body = request.body();
    const std::string option =
        body.has("verify_opt") && body.get("verify_opt").isString() ? body.getValue<std::string>("verify_opt") : "";
    std::string channel;
    if (option == "email_code")
        channel = "email";
    else if (option == "phone_code")
        channel = "sms";
    else
        throw ApiError::invalidArgument("invalid_verify_opt");

    const sdk::Principal& principal = *request.principal();
    const std::string& destination = channel == "email" ? principal.email : principal.phoneNumber;
    if (destination.empty())
        throw ApiError::failedPrecondition(channel == "email" ? "no_bound_email" : "no_bound_phone");
    if (!_channels.count(channel))
        throw ApiError::unavailable("channel_unavailable");

    _codes->issue(principal, channel, destination, request);
}

} // namespace identity::reauth

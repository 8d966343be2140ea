#pragma once

#include "identity/sdk/Export.h"

#include <Poco/JSON/Object.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace identity::sdk
{

/// The signed-in user a request acts for, established by the host from the Bearer access token (its
/// signature, claims and session checked) before a route that asks for it is called.
struct Principal
{
    std::string userId;
    std::string sessionId;
    std::string email;       ///< bound email address, empty if none
    std::string phoneNumber; ///< bound phone number (E.164), empty if none
    std::string locale;      ///< the user's preferred language, "en" or "zh"
};

/// A request as the host has already checked it: body within the size limit, media type accepted,
/// JSON parsed into an object, client id known, and (for authenticated routes) the token verified.
class IDENTITY_SDK_API Request
{
public:
    virtual ~Request();

    virtual const std::string& method() const = 0;
    virtual const std::string& path() const = 0;

    /// A header's value, empty when absent.
    virtual std::string header(const std::string& name) const = 0;

    /// A query parameter's value, empty when absent.
    virtual std::string query(const std::string& name) const = 0;

    /// The JSON body; an empty object when the request had no body.
    virtual const Poco::JSON::Object& body() const = 0;

    virtual const std::string& clientAddress() const = 0;
    virtual const std::string& requestId() const = 0;
    virtual const std::string& deviceId() const = 0;
    virtual const std::string& clientId() const = 0;

    /// "zh" or "en": the language `Accept-Language` prefers of those two; when it states no preference
    /// (absent, `*`, or only other languages), the signed-in user's locale, and "en" without a user.
    virtual const std::string& locale() const = 0;

    /// The signed-in user; null on routes that do not require authentication.
    virtual const Principal* principal() const = 0;
};

/// What a handler answers on success (errors are thrown as ApiError): a JSON object, or, when
/// `contentType` is set, `text` as it is (for example Prometheus metrics).
struct Response
{
    int status = 200;
    Poco::JSON::Object::Ptr body = new Poco::JSON::Object;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string contentType;
    std::string text;
};

using RequestHandler = std::function<void(const Request&, Response&)>;

/// A route a plugin adds to the host.
struct Route
{
    enum class Auth
    {
        None,       ///< anyone may call it
        AccessToken ///< the host requires and verifies a Bearer access token
    };

    std::string method; ///< "GET", "POST", "PATCH", "DELETE", …
    std::string path;   ///< exact path, e.g. "/auth/v1/user/reauthenticate"
    Auth auth = Auth::AccessToken;
    RequestHandler handler;
};

} // namespace identity::sdk

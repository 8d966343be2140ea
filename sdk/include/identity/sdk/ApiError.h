#pragma once

#include "identity/sdk/Export.h"

#include <stdexcept>
#include <string>

namespace identity::sdk
{

/// The one error type of the HTTP API.
///
/// A handler throws it; the host renders it as the CloudBase envelope
/// `{"error":…,"error_code":…,"error_description":…}` with the HTTP status it carries. The description
/// is not stored here but named by a key that the host looks up in its message catalogue in the
/// language the client prefers (plugins add their keys with `PluginContext::addMessage`). `what()` holds
/// only the status, the code and the key, so logging an ApiError can never leak user data.
class IDENTITY_SDK_API ApiError : public std::runtime_error
{
public:
    ApiError(int status, std::string error, int errorCode, std::string descriptionKey);
    ~ApiError() override;

    int status() const { return _status; }
    const std::string& error() const { return _error; }
    int errorCode() const { return _errorCode; }
    const std::string& descriptionKey() const { return _descriptionKey; }

    /// Seconds for the `Retry-After` header, 0 for none.
    int retryAfter() const { return _retryAfter; }
    ApiError& withRetryAfter(int seconds);

    /// Extra response headers, for example `Allow` on 405.
    const std::string& allow() const { return _allow; }
    ApiError& withAllow(std::string methods);

    // The rows of the error table (SPEC section 2). The key defaults to the error's own name.
    static ApiError invalidArgument(const std::string& key = "invalid_argument");             // 400 4001
    static ApiError invalidVerificationCode(const std::string& key = "invalid_verification_code"); // 400 4002
    static ApiError weakPassword(const std::string& key = "weak_password");                   // 400 4005
    static ApiError unauthenticated(const std::string& key = "unauthenticated");              // 401 4010
    static ApiError invalidPassword(const std::string& key = "invalid_password");             // 401 4003
    static ApiError permissionDenied(const std::string& key = "permission_denied");           // 403 4030
    static ApiError notFound(const std::string& key = "not_found");                           // 404 4040
    static ApiError methodNotAllowed(const std::string& allow);                               // 405 4050
    static ApiError failedPrecondition(const std::string& key = "failed_precondition");       // 412 4120
    static ApiError payloadTooLarge(const std::string& key = "payload_too_large");            // 413 4130
    static ApiError unsupportedMediaType(const std::string& key = "unsupported_media_type");   // 415 4150
    static ApiError resourceExhausted(int retryAfterSeconds, const std::string& key = "resource_exhausted"); // 429 4290
    static ApiError internal(const std::string& key = "internal");                            // 500 5000
    static ApiError unavailable(const std::string& key = "unavailable");                      // 503 5030

private:
    int _status;
    std::string _error;
    int _errorCode;
    std::string _descriptionKey;
    int _retryAfter = 0;
    std::string _allow;
};

} // namespace identity::sdk

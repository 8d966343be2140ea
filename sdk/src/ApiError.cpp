#include "identity/sdk/ApiError.h"

#include <utility>

namespace identity::sdk
{

ApiError::ApiError(int status, std::string error, int errorCode, std::string descriptionKey)
    : std::runtime_error(std::to_string(status) + " " + error + " " + std::to_string(errorCode) + " " +
                         descriptionKey),
      _status(status), _error(std::move(error)), _errorCode(errorCode), _descriptionKey(std::move(descriptionKey))
{
}

ApiError::~ApiError() = default;

ApiError& ApiError::withRetryAfter(int seconds)
{
    _retryAfter = seconds < 1 ? 1 : seconds;
    return *this;
}

ApiError& ApiError::withAllow(std::string methods)
{
    _allow = std::move(methods);
    return *this;
}

ApiError ApiError::invalidArgument(const std::string& key) { return {400, "invalid_argument", 4001, key}; }
ApiError ApiError::invalidVerificationCode(const std::string& key)
{
    return {400, "invalid_verification_code", 4002, key};
}
ApiError ApiError::weakPassword(const std::string& key) { return {400, "weak_password", 4005, key}; }
ApiError ApiError::unauthenticated(const std::string& key) { return {401, "unauthenticated", 4010, key}; }
ApiError ApiError::invalidPassword(const std::string& key) { return {401, "invalid_password", 4003, key}; }
ApiError ApiError::permissionDenied(const std::string& key) { return {403, "permission_denied", 4030, key}; }
ApiError ApiError::notFound(const std::string& key) { return {404, "not_found", 4040, key}; }
ApiError ApiError::methodNotAllowed(const std::string& allow)
{
    return ApiError(405, "invalid_argument", 4050, "method_not_allowed").withAllow(allow);
}
ApiError ApiError::failedPrecondition(const std::string& key) { return {412, "failed_precondition", 4120, key}; }
ApiError ApiError::payloadTooLarge(const std::string& key) { return {413, "invalid_argument", 4130, key}; }
ApiError ApiError::unsupportedMediaType(const std::string& key) { return {415, "invalid_argument", 4150, key}; }
ApiError ApiError::resourceExhausted(int retryAfterSeconds, const std::string& key)
{
    return ApiError(429, "resource_exhausted", 4290, key).withRetryAfter(retryAfterSeconds);
}
ApiError ApiError::internal(const std::string& key) { return {500, "internal", 5000, key}; }
ApiError ApiError::unavailable(const std::string& key) { return {503, "unavailable", 5030, key}; }

} // namespace identity::sdk

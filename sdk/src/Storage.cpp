#include "identity/sdk/Storage.h"

#include <cerrno>
#include <cstdlib>

namespace identity::sdk
{

Poco::Int64 Value::integer() const
{
    switch (_kind)
    {
    case Kind::Integer:
        return _integer;
    case Kind::Null:
        return 0;
    case Kind::Text:
        break;
    }
    errno = 0;
    char* end = nullptr;
    const long long parsed = std::strtoll(_text.c_str(), &end, 10);
    if (_text.empty() || errno != 0 || *end != '\0')
        throw std::invalid_argument("a column holds text where an integer was expected");
    return static_cast<Poco::Int64>(parsed);
}

std::string Value::text() const
{
    switch (_kind)
    {
    case Kind::Text:
        return _text;
    case Kind::Integer:
        return std::to_string(_integer);
    case Kind::Null:
        break;
    }
    return {};
}

Transaction::~Transaction() = default;

StorageError::StorageError(const std::string& what) : std::runtime_error(what) {}
StorageError::~StorageError() = default;

StorageConflict::StorageConflict(const std::string& what) : StorageError(what) {}
StorageConflict::~StorageConflict() = default;

StorageUnavailable::StorageUnavailable(const std::string& why)
    : ApiError(ApiError::unavailable("storage_unavailable")), _why(why)
{
}
StorageUnavailable::~StorageUnavailable() = default;

} // namespace identity::sdk

// The host's JSON request body parser (RequestPipeline::parseJsonBody) on arbitrary bytes. Every
// input is either an object or the documented 400 4001 `malformed_json`, never another exception; an
// accepted object holds no NUL, and written back out and parsed again it is the same object (so no
// key was silently dropped, as a duplicate would be).
#include "FuzzSupport.h"

#include "http/RequestPipeline.h"

#include "identity/sdk/ApiError.h"

#include <Poco/JSON/Array.h>

#include <sstream>

using identity::host::RequestPipeline;

namespace
{
bool holdsNul(const Poco::Dynamic::Var& value);

bool holdsNul(const Poco::JSON::Object& object)
{
    for (const auto& [key, member] : object)
        if (key.find('\0') != std::string::npos || holdsNul(member))
            return true;
    return false;
}

bool holdsNul(const Poco::Dynamic::Var& value)
{
    if (value.type() == typeid(Poco::JSON::Object::Ptr))
        return holdsNul(*value.extract<Poco::JSON::Object::Ptr>());
    if (value.type() == typeid(Poco::JSON::Array::Ptr))
    {
        for (const auto& item : *value.extract<Poco::JSON::Array::Ptr>())
            if (holdsNul(item))
                return true;
        return false;
    }
    return value.isString() && value.extract<std::string>().find('\0') != std::string::npos;
}

std::string text(const Poco::JSON::Object::Ptr& object)
{
    std::ostringstream out;
    object->stringify(out);
    return out.str();
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size)
{
    const std::string body(reinterpret_cast<const char*>(data), size);
    Poco::JSON::Object::Ptr object;
    try
    {
        object = RequestPipeline::parseJsonBody(body);
    }
    catch (const identity::sdk::ApiError& error)
    {
        FUZZ_REQUIRE(error.status() == 400 && error.errorCode() == 4001 &&
                     error.descriptionKey() == "malformed_json");
        return 0;
    }
    FUZZ_REQUIRE(!object.isNull());
    FUZZ_REQUIRE(!holdsNul(*object));
    // Round trip: what Poco writes of the object is accepted again and writes the same.
    const std::string written = text(object);
    Poco::JSON::Object::Ptr again;
    try
    {
        again = RequestPipeline::parseJsonBody(written);
    }
    catch (const identity::sdk::ApiError&)
    {
        FUZZ_REQUIRE(!"an accepted body, written back out, is refused");
    }
    FUZZ_REQUIRE(text(again) == written);
    FUZZ_REQUIRE(again->size() == object->size());
    return 0;
}

#include "auth/PasswordSchemes.h"

#include <Poco/Exception.h>
#include <Poco/Logger.h>

#include <algorithm>

namespace identity::host
{

PasswordSchemes::PasswordSchemes(UserStore& users, const PasswordHasher& hasher, const sdk::Clock& clock)
    : _users(users), _hasher(hasher), _clock(clock), _schemes{hasher.scheme()}
{
    std::vector<std::string> schemes;
    if (read(schemes))
        _schemes = std::move(schemes);
    _readAt = _clock.now();
}

bool PasswordSchemes::read(std::vector<std::string>& schemes)
{
    std::vector<std::string> found;
    try
    {
        found = _users.passwordSchemes();
    }
    catch (const Poco::Exception& error)
    {
        Poco::Logger::get("identity.host")
            .warning("password hash schemes in use could not be read: %s", error.displayText());
        return false;
    }
    catch (const std::exception& error)
    {
        Poco::Logger::get("identity.host")
            .warning("password hash schemes in use could not be read: %s", std::string(error.what()));
        return false;
    }
    const std::string configured = _hasher.scheme();
    const double ceiling = maximumCostRatio * PasswordHasher::costOf(configured);
    std::vector<std::string> others;
    std::size_t costly = 0;
    for (const std::string& scheme : found)
        // Only schemes a hash can be verified in: a refused one costs nothing to verify either.
        if (scheme != configured && PasswordHasher::schemeOf(scheme) == scheme)
        {
            if (PasswordHasher::costOf(scheme) <= ceiling)
                others.push_back(scheme);
            else
                ++costly;
        }
    if (costly > 0)
        Poco::Logger::get("identity.host")
            .warning("accounts hold password hashes of %z schemes costing more than %d times the configured one; "
                     "sign-ins do not spend them, so those accounts can be told apart by their sign-in time until "
                     "they sign in again (which replaces their hash)",
                     costly, static_cast<int>(maximumCostRatio));
    std::sort(others.begin(), others.end());
    if (others.size() > maximumOthers)
        Poco::Logger::get("identity.host")
            .warning("accounts hold password hashes of %z schemes besides the configured one; sign-ins spend "
                     "the time of %z of them, so accounts of the others can be told apart by their sign-in time "
                     "until they sign in again (which replaces their hash)",
                     others.size(), maximumOthers);
    others.resize(std::min(others.size(), maximumOthers));
    schemes.assign(1, configured);
    schemes.insert(schemes.end(), others.begin(), others.end());
    return true;
}

std::vector<std::string> PasswordSchemes::current()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_reading || _clock.now() - _readAt < refreshSeconds)
            return _schemes;
        _reading = true;
    }
    std::vector<std::string> schemes;
    const bool read = this->read(schemes);
    std::lock_guard<std::mutex> lock(_mutex);
    _reading = false;
    _readAt = _clock.now();
    if (read)
    {
        if (schemes.size() != _schemes.size())
            Poco::Logger::get("identity.host")
                .information("sign-ins now spend the time of %z password hash schemes", schemes.size());
        _schemes = std::move(schemes);
    }
    return _schemes;
}

} // namespace identity::host

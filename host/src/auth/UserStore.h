#pragma once

#include "identity/sdk/Clock.h"
#include "identity/sdk/Storage.h"

#include <optional>
#include <string>

namespace identity::host
{

struct User
{
    std::string id;
    std::string username;
    std::string email;
    std::string phoneNumber;
    std::string passwordHash;
    std::string locale;
    std::string status;
    Poco::Int64 createdAt = 0;
};

/// The `users` table.
class UserStore
{
public:
    UserStore(sdk::Storage& storage, const sdk::Clock& clock);

    /// Inserts the user (id generated) and returns the id. Throws Poco::ExistsException when the
    /// username, email or phone number is taken.
    std::string create(const User& user);

    std::optional<User> findById(const std::string& id);

    /// `field` is one of "username", "email", "phone_number".
    std::optional<User> findByLogin(const std::string& field, const std::string& value);

    void setPasswordHash(sdk::Transaction& transaction, const std::string& id, const std::string& hash);

    /// Replaces `oldHash` by `newHash` (a rehash with today's parameters), unless the password changed
    /// meanwhile.
    void replacePasswordHash(const std::string& id, const std::string& oldHash, const std::string& newHash);
    void remove(sdk::Transaction& transaction, const std::string& id);

private:
    std::optional<User> findWhere(const std::string& column, const std::string& value);

    sdk::Storage& _storage;
    const sdk::Clock& _clock;
};

} // namespace identity::host

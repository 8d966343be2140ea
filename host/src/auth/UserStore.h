#pragma once

#include "identity/sdk/Clock.h"
#include "identity/sdk/Storage.h"

#include <optional>
#include <string>
#include <vector>

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

    /// An email address as it is stored and looked up: ASCII letters folded to lower case, so that one
    /// address is one account whatever its letter case (the database's UNIQUE constraint then holds
    /// for the folded address). Only ASCII: both SQL engines and the migration that folded older rows
    /// fold exactly those.
    static std::string foldEmail(const std::string& email);

    /// Inserts the user (id generated; the email folded) and returns the id. Throws
    /// Poco::ExistsException when the username, email (in any letter case) or phone number is taken.
    std::string create(const User& user);

    std::optional<User> findById(const std::string& id);
    /// The same, inside a unit of work.
    std::optional<User> find(sdk::Transaction& transaction, const std::string& id);

    /// `field` is one of "username", "email" (found in any letter case), "phone_number".
    std::optional<User> findByLogin(const std::string& field, const std::string& value);

    /// The distinct schemes of active accounts' password hashes: each hash without its salt and hash
    /// (`$argon2id$v=19$m=19456,t=2,p=1$`), as both kinds of hash this host writes end in a 22-character
    /// salt and a 43-character hash. One scan of `users`.
    std::vector<std::string> passwordSchemes();

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

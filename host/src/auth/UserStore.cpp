#include "auth/UserStore.h"

#include <Poco/Exception.h>
#include <Poco/UUIDGenerator.h>

namespace identity::host
{

using sdk::Value;

UserStore::UserStore(sdk::Storage& storage, const sdk::Clock& clock) : _storage(storage), _clock(clock) {}

std::string UserStore::foldEmail(const std::string& email)
{
    std::string folded = email;
    for (char& c : folded)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return folded;
}

std::string UserStore::create(const User& given)
{
    User user = given;
    user.email = foldEmail(user.email);
    const std::string id = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
    const Poco::Int64 timestamp = _clock.now();
    bool taken = false;
    try
    {
        _storage.write([&](sdk::Transaction& transaction) {
            taken = !transaction
                         .execute("SELECT id FROM users WHERE username = $1 OR email = $2 OR phone_number = $3",
                                  {Value::textOrNull(user.username), Value::textOrNull(user.email),
                                   Value::textOrNull(user.phoneNumber)})
                         .empty();
            if (taken)
                return;
            transaction.execute(
                "INSERT INTO users(id, username, email, phone_number, password_hash, locale, status, created_at, "
                "updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8)",
                {Value(id), Value::textOrNull(user.username), Value::textOrNull(user.email),
                 Value::textOrNull(user.phoneNumber), Value(user.passwordHash),
                 Value(user.locale.empty() ? std::string("en") : user.locale), Value(timestamp), Value(timestamp)});
        });
    }
    catch (const sdk::StorageConflict&)
    {
        taken = true; // created a moment ago through another instance
    }
    if (taken)
        throw Poco::ExistsException("a user with this username, email or phone number exists");
    return id;
}

namespace
{
std::optional<User> findIn(sdk::Transaction& transaction, const std::string& column, const std::string& value)
{
    const sdk::Result result = transaction.execute(
        "SELECT id, username, email, phone_number, password_hash, locale, status, created_at FROM users WHERE " +
            column + " = $1",
        {Value(value)});
    if (result.empty())
        return std::nullopt;
    const sdk::Row& row = result.front();
    User user;
    user.id = row.text(0);
    user.username = row.text(1);
    user.email = row.text(2);
    user.phoneNumber = row.text(3);
    user.passwordHash = row.text(4);
    user.locale = row.text(5);
    user.status = row.text(6);
    user.createdAt = row.integer(7);
    return user;
}
} // namespace

std::optional<User> UserStore::findWhere(const std::string& column, const std::string& value)
{
    std::optional<User> found;
    _storage.read([&](sdk::Transaction& transaction) { found = findIn(transaction, column, value); });
    return found;
}

std::optional<User> UserStore::find(sdk::Transaction& transaction, const std::string& id)
{
    return findIn(transaction, "id", id);
}

std::optional<User> UserStore::findById(const std::string& id) { return findWhere("id", id); }

std::optional<User> UserStore::findByLogin(const std::string& field, const std::string& value)
{
    if (field != "username" && field != "email" && field != "phone_number")
        throw Poco::InvalidArgumentException("unknown login field", field);
    return findWhere(field, field == "email" ? foldEmail(value) : value);
}

std::vector<std::string> UserStore::passwordSchemes()
{
    std::vector<std::string> schemes;
    _storage.read([&](sdk::Transaction& transaction) {
        schemes.clear();
        const sdk::Result result =
            transaction.execute("SELECT DISTINCT substr(password_hash, 1, length(password_hash) - 66) FROM users "
                                "WHERE status = 'active' AND length(password_hash) > 66");
        for (const sdk::Row& row : result.rows)
            schemes.push_back(row.text(0));
    });
    return schemes;
}

void UserStore::setPasswordHash(sdk::Transaction& transaction, const std::string& id, const std::string& hash)
{
    transaction.execute("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3",
                        {Value(hash), Value(_clock.now()), Value(id)});
}

void UserStore::replacePasswordHash(const std::string& id, const std::string& oldHash, const std::string& newHash)
{
    _storage.write([&](sdk::Transaction& transaction) {
        transaction.execute("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3",
                            {Value(newHash), Value(id), Value(oldHash)});
    });
}

void UserStore::remove(sdk::Transaction& transaction, const std::string& id)
{
    transaction.execute("DELETE FROM users WHERE id = $1", {Value(id)});
}

} // namespace identity::host

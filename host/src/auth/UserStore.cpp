#include "auth/UserStore.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Exception.h>
#include <Poco/Nullable.h>
#include <Poco/UUIDGenerator.h>

namespace identity::host
{

using namespace Poco::Data::Keywords;

namespace
{
Poco::Nullable<std::string> nullIfEmpty(const std::string& value)
{
    return value.empty() ? Poco::Nullable<std::string>() : Poco::Nullable<std::string>(value);
}

std::string orEmpty(const Poco::Nullable<std::string>& value) { return value.isNull() ? std::string() : value.value(); }
} // namespace

UserStore::UserStore(sdk::Storage& storage, const sdk::Clock& clock) : _storage(storage), _clock(clock) {}

std::string UserStore::create(const User& user)
{
    std::string id = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
    Poco::Nullable<std::string> username = nullIfEmpty(user.username), email = nullIfEmpty(user.email),
                                phone = nullIfEmpty(user.phoneNumber);
    std::string hash = user.passwordHash;
    std::string locale = user.locale.empty() ? "en" : user.locale;
    Poco::Int64 timestamp = _clock.now();
    Poco::Data::Session session = _storage.session();
    sdk::WriteTransaction transaction(_storage, session);
    int taken = 0;
    session << "SELECT COUNT(*) FROM users WHERE username = $1 OR email = $2 OR phone_number = $3", use(username),
        use(email), use(phone), into(taken), now;
    if (taken > 0)
        throw Poco::ExistsException("a user with this username, email or phone number exists");
    session << "INSERT INTO users(id, username, email, phone_number, password_hash, locale, status, created_at, "
               "updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8)",
        use(id), use(username), use(email), use(phone), use(hash), use(locale), use(timestamp), use(timestamp), now;
    transaction.commit();
    return id;
}

std::optional<User> UserStore::findWhere(const std::string& column, const std::string& value)
{
    Poco::Data::Session session = _storage.session();
    std::string key = value;
    Poco::Nullable<std::string> username, email, phone;
    User user;
    session << "SELECT id, username, email, phone_number, password_hash, locale, status, created_at FROM users "
               "WHERE " + column + " = $1",
        use(key), into(user.id), into(username), into(email), into(phone), into(user.passwordHash),
        into(user.locale), into(user.status), into(user.createdAt), now;
    if (user.id.empty())
        return std::nullopt;
    user.username = orEmpty(username);
    user.email = orEmpty(email);
    user.phoneNumber = orEmpty(phone);
    return user;
}

std::optional<User> UserStore::findById(const std::string& id) { return findWhere("id", id); }

std::optional<User> UserStore::findByLogin(const std::string& field, const std::string& value)
{
    if (field != "username" && field != "email" && field != "phone_number")
        throw Poco::InvalidArgumentException("unknown login field", field);
    return findWhere(field, value);
}

void UserStore::setPasswordHash(Poco::Data::Session& session, const std::string& id, const std::string& hash)
{
    std::string key = id, value = hash;
    Poco::Int64 timestamp = _clock.now();
    session << "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3", use(value), use(timestamp), use(key),
        now;
}

void UserStore::remove(Poco::Data::Session& session, const std::string& id)
{
    std::string key = id;
    session << "DELETE FROM users WHERE id = $1", use(key), now;
}

} // namespace identity::host

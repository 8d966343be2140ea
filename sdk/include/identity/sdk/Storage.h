#pragma once

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Export.h"

#include <Poco/Types.h>

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

namespace identity::sdk
{

/// The SQL engine behind a Storage. SQL that both accept uses `$1..$n` placeholders, epoch-second
/// integers for time, TEXT and INTEGER (64-bit) columns, `ON CONFLICT` and `RETURNING`; where the two
/// differ (`FOR UPDATE SKIP LOCKED`, `BIGSERIAL`), branch on the dialect.
enum class Dialect
{
    SQLite,
    PostgreSQL
};

/// A statement parameter or a column value: NULL, a 64-bit integer or text.
class IDENTITY_SDK_API Value
{
public:
    enum class Kind
    {
        Null,
        Integer,
        Text
    };

    Value() = default;
    Value(std::nullptr_t) {}
    Value(int value) : _kind(Kind::Integer), _integer(value) {}
    Value(Poco::Int64 value) : _kind(Kind::Integer), _integer(value) {}
    Value(std::string value) : _kind(Kind::Text), _text(std::move(value)) {}
    Value(const char* value) : _kind(Kind::Text), _text(value) {}

    /// Text, or NULL when `value` is empty (for optional unique columns).
    static Value textOrNull(const std::string& value) { return value.empty() ? Value() : Value(value); }

    Kind kind() const { return _kind; }
    bool isNull() const { return _kind == Kind::Null; }

    /// The integer; text is converted (both engines report some expressions as text); NULL is 0.
    /// Throws std::invalid_argument for text that is not an integer.
    Poco::Int64 integer() const;

    /// The text; an integer is formatted; NULL is "".
    std::string text() const;

private:
    Kind _kind = Kind::Null;
    Poco::Int64 _integer = 0;
    std::string _text;
};

/// One row of a result, by column position.
class IDENTITY_SDK_API Row
{
public:
    explicit Row(std::vector<Value> values) : _values(std::move(values)) {}

    std::size_t size() const { return _values.size(); }
    const Value& operator[](std::size_t column) const { return _values.at(column); }
    Poco::Int64 integer(std::size_t column) const { return _values.at(column).integer(); }
    std::string text(std::size_t column) const { return _values.at(column).text(); }
    bool isNull(std::size_t column) const { return _values.at(column).isNull(); }

private:
    std::vector<Value> _values;
};

/// What a statement returned: its rows, and how many rows it inserted, updated or deleted.
struct IDENTITY_SDK_API Result
{
    std::vector<Row> rows;
    std::size_t affected = 0;

    bool empty() const { return rows.empty(); }
    const Row& front() const { return rows.at(0); }
};

/// The only way to run SQL: a transaction on one connection of the host's database, handed to the work
/// given to `Storage::read` or `Storage::write`. Statements are prepared once per connection and kept,
/// keyed by their text: pass values as parameters, never by building SQL from them. Not thread-safe,
/// and valid only inside the work it was handed to.
class IDENTITY_SDK_API Transaction
{
public:
    virtual ~Transaction();

    virtual Dialect dialect() const = 0;

    /// Runs one statement with parameters `$1..$n`. Throws StorageConflict when it breaks a unique
    /// constraint, StorageUnavailable when the database cannot be reached, StorageError otherwise; the
    /// unit of work then fails as a whole.
    virtual Result execute(const std::string& sql, std::initializer_list<Value> parameters = {}) = 0;
    virtual Result execute(const std::string& sql, const std::vector<Value>& parameters) = 0;

    /// Serializes the transactions that lock the same key, across every instance on the database, until
    /// they end: for check-then-write steps (count, then insert) that a unique constraint cannot guard.
    /// SQLite has one writer at a time, so there it is free. Lock several keys in one fixed order.
    virtual void lock(const std::string& key) = 0;
};

/// The host's database (SQLite or PostgreSQL). Plugins hand it units of work; the storage decides how
/// they are committed: alone, or together with other requests' units in one transaction, each inside
/// its own savepoint, so one unit's failure never touches another's.
class IDENTITY_SDK_API Storage
{
public:
    using Work = std::function<void(Transaction&)>;

    virtual ~Storage();

    virtual Dialect dialect() const = 0;

    /// Runs `work` in a transaction that reads: on PostgreSQL a read-only snapshot (REPEATABLE READ, READ
    /// ONLY; a write in it fails with StorageError), on SQLite a deferred transaction. Never write here.
    virtual void read(const Work& work) = 0;

    /// Runs `work` as a unit of work in a write transaction, and returns once its changes are durable.
    /// When `work` throws, none of its changes are kept and the exception reaches the caller. A unit may
    /// run more than once (on PostgreSQL after a deadlock or serialization conflict; on SQLite when the
    /// batch it shared with other requests' units failed to commit, and every unit runs again alone), and
    /// on SQLite it runs on the storage's writer thread, not the caller's. So `work` must touch nothing
    /// but the transaction: decide inside, act (log, send, throw ApiError) after. Transaction control
    /// (COMMIT, ROLLBACK, SAVEPOINT) belongs to the storage, never to the work.
    virtual void write(const Work& work) = 0;
};

/// The lock key of one user's rows (Transaction::lock). The host takes it first in the unit of work that
/// deletes the user; a plugin unit that writes rows about a user takes it first too, then checks that
/// the user is still there (the host's `users` table: `id`, `status` = 'active'), so no row outlives
/// the account it is about. Take it before any other key.
inline std::string userLockKey(const std::string& userId) { return "user:" + userId; }

/// A storage failure that is not the caller's fault. `what()` names the operation and the engine's
/// error class, never a parameter value.
class IDENTITY_SDK_API StorageError : public std::runtime_error
{
public:
    explicit StorageError(const std::string& what);
    ~StorageError() override;
};

/// A statement broke a unique constraint (for example a second account with the same email).
class IDENTITY_SDK_API StorageConflict : public StorageError
{
public:
    explicit StorageConflict(const std::string& what);
    ~StorageConflict() override;
};

/// The database cannot be reached, or gave no connection in time. It is also an ApiError (503 5030
/// `unavailable`), so a request that meets an outage answers 503 and the next one, once the database
/// is back, succeeds.
class IDENTITY_SDK_API StorageUnavailable : public ApiError
{
public:
    explicit StorageUnavailable(const std::string& why);
    ~StorageUnavailable() override;

    const std::string& why() const { return _why; }

private:
    std::string _why;
};

} // namespace identity::sdk

#include "storage/Database.h"

#include "storage/SqlScript.h"

#include "identity/sdk/Crypto.h"

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Logger.h>
#include <Poco/Path.h>
#include <Poco/URI.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <map>

namespace identity::host
{

namespace
{
Poco::Logger& logger()
{
    return Poco::Logger::get("identity.storage");
}

/// A transaction handed to a unit of work: the connection's statements, nothing more.
class ConnectionTransaction : public sdk::Transaction
{
public:
    explicit ConnectionTransaction(Connection& connection) : _connection(connection) {}

    sdk::Dialect dialect() const override { return _connection.dialect(); }

    sdk::Result execute(const std::string& sql, std::initializer_list<sdk::Value> parameters) override
    {
        return _connection.execute(sql, std::vector<sdk::Value>(parameters));
    }

    sdk::Result execute(const std::string& sql, const std::vector<sdk::Value>& parameters) override
    {
        return _connection.execute(sql, parameters);
    }

    void lock(const std::string& key) override
    {
        // Held until the transaction ends. hashtextextended gives the 64-bit key the lock wants.
        if (_connection.dialect() == sdk::Dialect::PostgreSQL)
            _connection.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", {sdk::Value(key)});
    }

private:
    Connection& _connection;
};

/// The migrations tables' lock, for instances starting at once (any constant both agree on).
constexpr const char* migrationLock = "SELECT pg_advisory_lock(hashtextextended('identity-migrations', 0))";
constexpr const char* migrationUnlock =
    "SELECT pg_advisory_unlock(hashtextextended('identity-migrations', 0))";

std::string checksumOf(const std::string& sql)
{
    return sdk::crypto::toHex(sdk::crypto::sha256(sql));
}
} // namespace

/// A connection borrowed from the pool; it goes back (or, broken, is dropped) when the lease ends.
class Database::Lease
{
public:
    explicit Lease(Database& database) : _database(database), _connection(database.acquire()) {}
    ~Lease() { _database.release(std::move(_connection)); }

    Connection& operator*() { return *_connection; }
    Connection* operator->() { return _connection.get(); }

private:
    Database& _database;
    std::unique_ptr<Connection> _connection;
};

std::string Database::postgresConnectionString(const std::string& url)
{
    Poco::URI uri;
    try
    {
        uri = Poco::URI(url);
    }
    catch (const Poco::Exception&)
    {
        throw Poco::InvalidArgumentException("storage.url: not a valid postgresql:// URL");
    }
    std::map<std::string, std::string> options;
    const std::string& userInfo = uri.getUserInfo();
    const auto colon = userInfo.find(':');
    std::string user, password;
    Poco::URI::decode(userInfo.substr(0, colon), user);
    if (colon != std::string::npos)
        Poco::URI::decode(userInfo.substr(colon + 1), password);
    if (!user.empty())
        options["user"] = user;
    if (!password.empty())
        options["password"] = password;
    if (!uri.getHost().empty())
        options["host"] = uri.getHost();
    if (uri.getPort() != 0)
        options["port"] = std::to_string(uri.getPort());
    std::string database = uri.getPath();
    if (!database.empty() && database[0] == '/')
        database.erase(0, 1);
    if (database.empty() || database.find('/') != std::string::npos)
        throw Poco::InvalidArgumentException("storage.url: a postgresql:// URL names its database: "
                                             "postgresql://user:password@host:port/database");
    options["dbname"] = database;
    for (const auto& [key, value] : uri.getQueryParameters())
        options[key] = value;
    if (!options.count("connect_timeout"))
        options["connect_timeout"] = "5";
    if (!options.count("application_name"))
        options["application_name"] = "identity-host";

    // Poco's connector splits its string on spaces and knows no quoting.
    std::string result;
    for (const auto& [key, value] : options)
    {
        if (value.empty() || value.find_first_of(" '\\\t\r\n") != std::string::npos)
            throw Poco::InvalidArgumentException("storage.url: the value of '" + key +
                                                 "' is empty or holds a space, quote or backslash, which the "
                                                 "PostgreSQL connector cannot pass on");
        if (!result.empty())
            result += ' ';
        result += key + "=" + value;
    }
    return result;
}

Database::Database(const std::string& url, std::size_t poolSize, std::chrono::milliseconds acquireTimeout)
    : _dialect(sdk::Dialect::SQLite), _poolSize(std::max<std::size_t>(poolSize, 2)),
      _acquireTimeout(acquireTimeout)
{
    if (url.rfind("sqlite:", 0) == 0)
    {
        const std::string path = url.substr(7);
        if (path.empty() || path == ":memory:")
            throw Poco::InvalidArgumentException(
                "storage.url: SQLite needs a file path (pooled connections share it)");
        Poco::Path parent = Poco::Path(path).parent();
        if (!parent.toString().empty())
            Poco::File(parent).createDirectories();
        // The database holds password hashes: readable by the owner only (SQLite gives its -wal and -shm
        // files the same mode).
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            throw Poco::FileException("cannot create the database file", path);
        ::close(fd);
        Poco::Data::SQLite::Connector::registerConnector();
        _connector = Poco::Data::SQLite::Connector::KEY;
        _connectionString = path;
        _displayUrl = url;
    }
    else if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0)
    {
        _dialect = sdk::Dialect::PostgreSQL;
        _connectionString = postgresConnectionString(url);
        Poco::Data::PostgreSQL::Connector::registerConnector();
        _connector = Poco::Data::PostgreSQL::Connector::KEY;
        Poco::URI uri(url);
        uri.setUserInfo(uri.getUserInfo().substr(0, uri.getUserInfo().find(':')));
        _displayUrl = uri.toString();
    }
    else
    {
        throw Poco::InvalidArgumentException(
            "storage.url: use sqlite:PATH or postgresql://user:password@host:port/database");
    }

    Lease connection(*this);
    if (_dialect == sdk::Dialect::SQLite)
        connection->executeOnce("PRAGMA journal_mode=WAL");
}

Database::~Database() = default;

std::unique_ptr<Connection> Database::acquire()
{
    std::unique_lock<std::mutex> lock(_poolMutex);
    const auto deadline = std::chrono::steady_clock::now() + _acquireTimeout;
    while (_idle.empty() && _open >= _poolSize)
    {
        if (_poolChanged.wait_until(lock, deadline) == std::cv_status::timeout && _idle.empty() &&
            _open >= _poolSize)
            throw sdk::StorageUnavailable("no database connection became free in time");
    }
    if (!_idle.empty())
    {
        auto connection = std::move(_idle.back());
        _idle.pop_back();
        return connection;
    }
    ++_open; // counted before connecting, so concurrent acquirers respect the cap
    lock.unlock();
    try
    {
        return std::make_unique<Connection>(_dialect, _connector, _connectionString);
    }
    catch (...)
    {
        lock.lock();
        --_open;
        _poolChanged.notify_one();
        throw;
    }
}

void Database::release(std::unique_ptr<Connection> connection)
{
    std::unique_ptr<Connection> dropped;
    {
        std::lock_guard<std::mutex> lock(_poolMutex);
        if (connection && !connection->broken())
            _idle.push_back(std::move(connection));
        else
        {
            dropped = std::move(connection); // closed outside the lock
            --_open;
        }
    }
    _poolChanged.notify_one();
}

void Database::run(const Work& work, bool write)
{
    constexpr int attempts = 5;
    for (int attempt = 1;; ++attempt)
    {
        Lease connection(*this);
        std::unique_lock<std::mutex> writer;
        if (write && _dialect == sdk::Dialect::SQLite)
            writer = std::unique_lock<std::mutex>(_writeMutex);
        connection->begin(write);
        try
        {
            ConnectionTransaction transaction(*connection);
            work(transaction);
            connection->commit();
            return;
        }
        catch (const std::exception& error)
        {
            connection->rollback();
            if (!Connection::retryable(error) || attempt == attempts)
                throw;
            // Lost a deadlock or a serialization conflict to another transaction: run it again.
        }
        catch (...)
        {
            connection->rollback();
            throw;
        }
    }
}

void Database::read(const Work& work)
{
    run(work, false);
}

void Database::write(const Work& work)
{
    run(work, true);
}

bool Database::ping() noexcept
{
    try
    {
        Lease connection(*this);
        const sdk::Result result = connection->execute("SELECT 1", {});
        return !result.empty() && result.front().integer(0) == 1;
    }
    catch (...)
    {
        return false;
    }
}

int Database::apply(const std::string& owner, const std::vector<Migration>& migrations, bool plugin)
{
    for (std::size_t i = 1; i < migrations.size(); ++i)
        if (migrations[i].version <= migrations[i - 1].version)
            throw Poco::DataException("migrations of " + owner + ": versions must grow (" +
                                      migrations[i].name + ")");

    Lease connection(*this);
    const bool postgres = _dialect == sdk::Dialect::PostgreSQL;
    if (postgres)
        connection->execute(migrationLock, {}); // a session lock: held across the transactions below
    struct Unlock
    {
        Connection& connection;
        bool postgres;
        ~Unlock()
        {
            if (!postgres || connection.broken())
                return;
            try
            {
                connection.execute(migrationUnlock, {});
            }
            catch (...)
            {
                // A broken connection ends its session, and with it the lock.
            }
        }
    } unlock{*connection, postgres};

    connection->executeOnce("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                            "name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    connection->executeOnce(
        "CREATE TABLE IF NOT EXISTS plugin_migrations (plugin TEXT NOT NULL, version INTEGER "
        "NOT NULL, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL, "
        "PRIMARY KEY (plugin, version))");

    int applied = 0;
    for (const Migration& migration : migrations)
    {
        std::unique_lock<std::mutex> writer;
        if (!postgres)
            writer = std::unique_lock<std::mutex>(_writeMutex);
        // Checked inside the transaction: on SQLite, another process may have applied it a moment ago.
        connection->begin(true);
        bool open = true;
        try
        {
            const std::string checksum = checksumOf(migration.sql);
            const sdk::Result done =
                plugin ? connection->execute(
                             "SELECT checksum FROM plugin_migrations WHERE plugin = $1 AND version = $2",
                             {sdk::Value(owner), sdk::Value(migration.version)})
                       : connection->execute("SELECT name FROM schema_migrations WHERE version = $1",
                                             {sdk::Value(migration.version)});
            if (!done.empty())
            {
                connection->rollback();
                open = false;
                if (plugin && done.front().text(0) != checksum)
                    throw Poco::DataException(
                        "plugin '" + owner + "': migration " + migration.name +
                        " was changed after it was applied; add a new migration instead");
                continue;
            }
            logger().information("applying %s migration %d: %s", owner, migration.version, migration.name);
            for (const std::string& statement :
                 postgres ? splitSqlScript(migration.sql) : splitSqliteScript(migration.sql))
                connection->executeOnce(statement);
            const Poco::Int64 at = static_cast<Poco::Int64>(::time(nullptr));
            if (plugin)
                connection->execute(
                    "INSERT INTO plugin_migrations(plugin, version, name, checksum, applied_at) "
                    "VALUES ($1, $2, $3, $4, $5)",
                    {sdk::Value(owner), sdk::Value(migration.version), sdk::Value(migration.name),
                     sdk::Value(checksum), sdk::Value(at)});
            else
                connection->execute(
                    "INSERT INTO schema_migrations(version, name, applied_at) VALUES ($1, $2, $3)",
                    {sdk::Value(migration.version), sdk::Value(migration.name), sdk::Value(at)});
            open = false;
            connection->commit();
            ++applied;
        }
        catch (const Poco::DataException& error)
        {
            if (open)
                connection->rollback();
            if (open)
                throw Poco::DataException(owner + " migration " + migration.name +
                                          " failed: " + error.message());
            throw;
        }
        catch (const std::exception& error)
        {
            if (open)
                connection->rollback();
            throw Poco::DataException(owner + " migration " + migration.name + " failed: " + error.what());
        }
    }
    return applied;
}

int Database::migrate()
{
    return apply("host", hostMigrations(_dialect), false);
}

int Database::migratePlugin(const std::string& plugin, const std::vector<Migration>& migrations)
{
    return apply(plugin, migrations, true);
}

int Database::version()
{
    int current = 0;
    read(
        [&](sdk::Transaction& transaction)
        {
            const sdk::Result result = transaction.execute("SELECT MAX(version) FROM schema_migrations");
            current = result.empty() ? 0 : static_cast<int>(result.front().integer(0));
        });
    return current;
}

std::vector<int> Database::pluginVersions(const std::string& plugin)
{
    std::vector<int> versions;
    read(
        [&](sdk::Transaction& transaction)
        {
            for (const sdk::Row& row :
                 transaction
                     .execute("SELECT version FROM plugin_migrations WHERE plugin = $1 ORDER BY version",
                              {sdk::Value(plugin)})
                     .rows)
                versions.push_back(static_cast<int>(row.integer(0)));
        });
    return versions;
}

} // namespace identity::host

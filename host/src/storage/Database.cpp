#include "storage/Database.h"

#include "storage/SqlScript.h"

#include "identity/sdk/Crypto.h"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Logger.h>
#include <Poco/Path.h>
#include <Poco/URI.h>

#include <fcntl.h>
#include <pthread.h>
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
constexpr const char* migrationTryLock =
    "SELECT CASE WHEN pg_try_advisory_lock(hashtextextended('identity-migrations', 0)) THEN 1 ELSE 0 END";
constexpr const char* migrationUnlock =
    "SELECT pg_advisory_unlock(hashtextextended('identity-migrations', 0))";

/// Of the text with its line ends made LF: a checkout with CRLF line ends is the same migration.
std::string checksumOf(const std::string& sql)
{
    std::string text;
    text.reserve(sql.size());
    for (std::size_t i = 0; i < sql.size(); ++i)
        if (!(sql[i] == '\r' && i + 1 < sql.size() && sql[i + 1] == '\n'))
            text += sql[i];
    return sdk::crypto::toHex(sdk::crypto::sha256(text));
}
} // namespace

/// A connection borrowed from the pool; it goes back (or, broken, is dropped) when the lease ends.
class Database::Lease
{
public:
    explicit Lease(Database& database) : _database(database), _connection(database.acquire(_fresh)) {}
    ~Lease() { _database.release(std::move(_connection)); }

    Connection& operator*() { return *_connection; }
    Connection* operator->() { return _connection.get(); }

    /// True when the connection was opened for this lease, not taken idle from the pool.
    bool fresh() const { return _fresh; }

private:
    Database& _database;
    bool _fresh = false;
    std::unique_ptr<Connection> _connection;
};

namespace
{
/// The unit of work this thread is inside: a unit that starts another would wait for itself (SQLite's
/// write mutex) or commit half of itself.
thread_local bool insideUnit = false;
} // namespace

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
    // A server that stops answering (a partition, a host gone) is noticed by TCP within a minute,
    // rather than after the kernel's quarter of an hour; and only a primary is taken.
    for (const auto& [key, value] :
         std::map<std::string, std::string>{{"keepalives", "1"},
                                            {"keepalives_idle", "30"},
                                            {"keepalives_interval", "10"},
                                            {"keepalives_count", "3"},
                                            {"tcp_user_timeout", "60000"},
                                            {"target_session_attrs", "read-write"}})
        options.emplace(key, value);

    // Poco's connector splits its string on spaces and knows no quoting.
    std::string result;
    for (const auto& [key, value] : options)
    {
        if (key.empty() || key.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string::npos)
            throw Poco::InvalidArgumentException("storage.url: '" + key + "' is not a connection parameter");
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
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
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
        Poco::URI uri(url);
        uri.setUserInfo(uri.getUserInfo().substr(0, uri.getUserInfo().find(':')));
        uri.setRawQuery(""); // may hold password=…
        _displayUrl = uri.toString();
    }
    else
    {
        throw Poco::InvalidArgumentException(
            "storage.url: use sqlite:PATH or postgresql://user:password@host:port/database");
    }

    Lease connection(*this);
    if (_dialect == sdk::Dialect::SQLite)
    {
        connection->executeOnce("PRAGMA journal_mode=WAL");
        _writer = std::thread([this] { writerLoop(); });
        try
        {
            _checkpointer = std::thread([this] { checkpointLoop(); });
        }
        catch (...)
        {
            {
                std::lock_guard<std::mutex> lock(_queueMutex);
                _stopping = true;
            }
            _queueChanged.notify_all();
            _writer.join(); // a joinable thread left behind would terminate the process
            throw;
        }
    }
}

Database::~Database()
{
    if (_writer.joinable())
    {
        {
            std::lock_guard<std::mutex> lock(_queueMutex);
            _stopping = true;
        }
        _queueChanged.notify_all();
        _writer.join(); // after the units already queued
        _checkpointWanted.notify_all();
        _checkpointer.join(); // SQLite checkpoints what is left when the last connection closes
    }
}

void Database::checkpointLoop()
{
    pthread_setname_np(pthread_self(), "sqlite-ckpt");
    std::unique_ptr<Connection> connection;
    bool failing = false;
    for (;;)
    {
        int restarts = 0;
        {
            std::unique_lock<std::mutex> lock(_queueMutex);
            _checkpointWanted.wait(lock, [this] { return _stopping || (_checkpointDue && !_restartWanted); });
            if (_stopping)
                return;
            _checkpointDue = false;
            restarts = _walRestarts;
            _checkpointing = true; // the writer's restart waits for it: SQLite runs one checkpoint at a time
        }
        struct Idle
        {
            Database& database;
            ~Idle()
            {
                std::lock_guard<std::mutex> lock(database._queueMutex);
                database._checkpointing = false;
                database._checkpointIdle.notify_all();
            }
        };
        try
        {
            const Idle idle{*this};
            if (!connection || connection->broken())
                connection = std::make_unique<Connection>(_dialect, _connector, _connectionString);
            const int copied = connection->checkpoint();
            {
                // Of the WAL this checkpoint saw: when the writer started it over meanwhile, the count
                // belongs to the old one. (-1: another checkpoint was running, nothing was learnt.)
                std::lock_guard<std::mutex> lock(_queueMutex);
                if (restarts == _walRestarts && copied >= 0)
                    _checkpointedPages = copied;
            }
            if (failing)
                logger().information("checkpoints resumed");
            failing = false;
        }
        catch (const std::exception& error)
        {
            // The next commit asks again; meanwhile the WAL only grows. Said once, not at every commit.
            if (!failing)
                logger().warning("checkpoint failed: %s", std::string(error.what()));
            failing = true;
            connection.reset();
        }
    }
}

/// A unit of work handed to the SQLite writer, and what became of it.
struct Database::PendingUnit
{
    const Work* work;
    std::exception_ptr error;
    bool done = false;
    std::condition_variable finished; // its caller's alone: a batch wakes its own callers, no others
};

void Database::writerLoop()
{
    pthread_setname_np(pthread_self(), "sqlite-writer"); // as top -H and perf show it
    for (;;)
    {
        std::vector<PendingUnit*> batch;
        {
            std::unique_lock<std::mutex> lock(_queueMutex);
            _queueChanged.wait(lock, [this] { return _stopping || !_queue.empty(); });
            if (_queue.empty())
                return; // stopping, and nothing left
            while (!_queue.empty() && batch.size() < maxBatch)
            {
                batch.push_back(_queue.front());
                _queue.pop_front();
            }
        }
        const std::size_t commits = commitTogether(batch);
        {
            std::lock_guard<std::mutex> lock(_queueMutex);
            _statistics.units += batch.size();
            _statistics.commits += commits;
            // Under the lock: a caller that sees `done` returns and destroys its unit, condition and all.
            for (PendingUnit* unit : batch)
            {
                unit->done = true;
                unit->finished.notify_one();
            }
        }
        restartWalIfLong(); // after the callers are answered: their units are durable already
    }
}

void Database::restartWalIfLong()
{
    if (_walPages < _restartAt)
        return;
    _restartAt = _walPages + checkpointPages; // when readers do not let it: again 1,000 pages later
    std::lock_guard<std::mutex> writer(_writeMutex);
    struct Wanted // the checkpointer stays out while the restart runs (SQLite takes one checkpoint at a time)
    {
        Database& database;
        ~Wanted()
        {
            std::lock_guard<std::mutex> lock(database._queueMutex);
            database._restartWanted = false;
            database._checkpointWanted.notify_one(); // a checkpoint asked for meanwhile runs now
        }
    };
    {
        std::unique_lock<std::mutex> lock(_queueMutex);
        _restartWanted = true;
        // Its passive checkpoint ends on its own (it waits for nobody); this one waits at most 100 ms.
        if (!_checkpointIdle.wait_for(lock, std::chrono::milliseconds(100), [this] { return !_checkpointing; }))
        {
            _restartWanted = false;
            _checkpointWanted.notify_one(); // a checkpoint held back by the wish runs now
            return;                         // tried again 1,000 pages later
        }
    }
    const Wanted wanted{*this};
    try
    {
        // Blocks the writer (this thread) for what the checkpointer has not copied yet (usually under
        // 1,000 pages; all of it when the checkpointer is failing, so the WAL stays bounded even then),
        // one sync of the database file, and at most _restartWait (20 ms, more after refusals) of
        // readers finishing (yielding, not sleeping).
        if (_writerConnection && !_writerConnection->broken() && _writerConnection->restartWal(_restartWait))
        {
            _walPages = 0;
            _restartAt = restartPages;
            _restartWait = restartWaitMillis;
            std::lock_guard<std::mutex> lock(_queueMutex);
            ++_walRestarts;
            _checkpointedPages = 0;
        }
        else
            _restartWait = std::min(2 * _restartWait, maximumRestartWaitMillis);
    }
    catch (const std::exception& error)
    {
        logger().warning("restarting the WAL failed: %s", std::string(error.what()));
    }
}

Database::WriteStatistics Database::writeStatistics() const
{
    std::lock_guard<std::mutex> lock(_queueMutex);
    WriteStatistics statistics = _statistics;
    statistics.walRestarts = static_cast<std::size_t>(_walRestarts);
    return statistics;
}

std::size_t Database::queuedUnits() const
{
    std::lock_guard<std::mutex> lock(_queueMutex);
    return _queue.size();
}

std::size_t Database::commitTogether(const std::vector<PendingUnit*>& batch)
{
    std::lock_guard<std::mutex> writer(_writeMutex); // migrations take it too
    insideUnit = true;
    struct Outside
    {
        ~Outside() { insideUnit = false; }
    } outside;
    bool begun = false;
    if (commitOnce(batch, begun) || batch.size() == 1)
        return 1;
    if (!begun) // the transaction never started (the file locked by another process): all alike
    {
        const std::exception_ptr error = batch.front()->error;
        for (PendingUnit* unit : batch)
            unit->error = error;
        return 1;
    }
    // The batch failed as a whole (its commit, or a savepoint that could not be undone): nothing of it
    // was kept, and a unit's own error may have come from a neighbour's rows that are gone now. Every
    // unit runs again alone (units of work may run more than once), so none fails for another.
    std::size_t commits = 1;
    for (PendingUnit* unit : batch)
    {
        unit->error = nullptr;
        bool alone = false;
        commitOnce({unit}, alone);
        ++commits;
    }
    return commits;
}

bool Database::commitOnce(const std::vector<PendingUnit*>& batch, bool& begun)
{
    begun = false;
    try
    {
        if (!_writerConnection || _writerConnection->broken())
        {
            _writerConnection = std::make_unique<Connection>(_dialect, _connector, _connectionString);
            // The one writer keeps a large page cache.
            _writerConnection->executeOnce("PRAGMA cache_size = -65536");
            // Savepoints keep the pages they may have to restore in memory, not in a temporary file.
            _writerConnection->executeOnce("PRAGMA temp_store = MEMORY");
            // Readers that never pause keep SQLite from starting the WAL over after a checkpoint, and the
            // WAL then only grows: a checkpoint is due once 1,000 pages were added since the last one,
            // not at every commit past 1,000. After the WAL was started over, from its start.
            _writerConnection->executeOnce("PRAGMA journal_size_limit = 67108864"); // truncated when reset
            _writerConnection->onWalCommit([this](int pages) {
                _walPages = pages;
                const int checkpointed = _checkpointedPages.load();
                const int since = pages >= checkpointed ? pages - checkpointed : pages;
                if (since < checkpointPages)
                    return;
                std::lock_guard<std::mutex> lock(_queueMutex);
                _checkpointDue = true;
                _checkpointWanted.notify_one();
            });
        }
        Connection& connection = *_writerConnection;
        connection.begin(true);
        begun = true;
        ConnectionTransaction transaction(connection);
        for (PendingUnit* unit : batch)
        {
            // Each unit in a savepoint of its own: one unit's failure undoes only that unit.
            connection.executeOnce("SAVEPOINT unit");
            try
            {
                (*unit->work)(transaction);
            }
            catch (...)
            {
                unit->error = std::current_exception();
                connection.executeOnce("ROLLBACK TO unit"); // a failure here fails the whole batch
            }
            connection.executeOnce("RELEASE unit");
        }
        connection.commit(); // one sync for every unit of the batch
        return true;
    }
    catch (...)
    {
        if (_writerConnection)
        {
            _writerConnection->rollback();
            if (_writerConnection->broken())
                _writerConnection.reset(); // closed now: it may still hold SQLite's write lock
        }
        if (batch.size() == 1 && !batch.front()->error)
            batch.front()->error = std::current_exception();
        else if (!begun)
            batch.front()->error = std::current_exception();
        return false;
    }
}

std::unique_ptr<Connection> Database::acquire(bool& fresh)
{
    fresh = false;
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
    fresh = true;
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
    if (insideUnit)
        throw sdk::StorageError("a unit of work cannot start another one: use the transaction it was given");
    struct Inside
    {
        Inside() { insideUnit = true; }
        ~Inside() { insideUnit = false; }
    } inside;

    constexpr int attempts = 5;
    int conflicts = 0;
    // Idle connections may have died with the server (a restart, a firewall): found out at BEGIN, before
    // anything ran, and replaced.
    std::size_t stale = 0;
    for (;;)
    {
        Lease connection(*this); // SQLite's writes never come here: they go to the writer thread
        try
        {
            connection->begin(write);
        }
        catch (const sdk::StorageUnavailable&)
        {
            if (connection.fresh() || ++stale > _poolSize)
                throw;
            continue; // the lease drops the broken connection; the next one is tried
        }
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
            if (!Connection::retryable(error))
                throw;
            // Lost a deadlock or a serialization conflict to another transaction: run it again.
            if (++conflicts == attempts)
                throw sdk::StorageUnavailable(std::string(error.what()) + " (" + std::to_string(attempts) +
                                              " times)");
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
    if (_dialect != sdk::Dialect::SQLite)
    {
        run(work, true); // PostgreSQL: writers in parallel, each in its own transaction
        std::lock_guard<std::mutex> lock(_queueMutex);
        ++_statistics.units;
        ++_statistics.commits;
        return;
    }
    // SQLite admits one writer: the units of concurrent requests go to the writer thread, which commits
    // them together (group commit). The caller waits for its unit's commit, so no request is answered
    // before its changes are durable.
    if (insideUnit)
        throw sdk::StorageError("a unit of work cannot start another one: use the transaction it was given");
    PendingUnit unit{&work, nullptr, false, {}};
    {
        std::unique_lock<std::mutex> lock(_queueMutex);
        if (_stopping)
            throw sdk::StorageUnavailable("the storage is stopping");
        _queue.push_back(&unit);
        _queueChanged.notify_one();
        unit.finished.wait(lock, [&] { return unit.done; });
    }
    if (unit.error)
        std::rethrow_exception(unit.error);
}

bool Database::ping() noexcept
{
    try
    {
        // Through a unit, so a pooled connection that died with the server is replaced, not reported.
        bool one = false;
        read(
            [&](sdk::Transaction& transaction)
            {
                const sdk::Result result = transaction.execute("SELECT 1");
                one = !result.empty() && result.front().integer(0) == 1;
            });
        return one;
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

    // A connection of its own, not from the pool: its timeouts change, and an idle pooled connection
    // may have died with the server. It is closed when the migrations are done.
    const auto connection = std::make_unique<Connection>(_dialect, _connector, _connectionString);
    const bool postgres = _dialect == sdk::Dialect::PostgreSQL;
    struct Unlock
    {
        Connection& connection;
        bool locked = false;
        ~Unlock()
        {
            try
            {
                if (locked && !connection.broken())
                    connection.execute(migrationUnlock, {});
            }
            catch (...)
            {
                // A broken connection ends its session, and with it the lock.
            }
        }
    } unlock{*connection};
    if (postgres)
    {
        // A migration may take long (an index on a big table), and so may another instance's, or a
        // table lock it waits for: no statement timeout here, and lock waits of minutes, not seconds.
        connection->executeOnce("SET statement_timeout = 0");
        connection->executeOnce("SET lock_timeout = '10min'");
        if (connection->execute(migrationTryLock, {}).front().integer(0) == 0)
        {
            logger().information(
                "another instance is applying migrations; waiting for it (at most 10 minutes)");
            connection->execute(migrationLock, {}); // a session lock: held across the transactions below
        }
        unlock.locked = true;
    }

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
            connection->commit();
            open = false;
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
        catch (const sdk::StorageUnavailable& error)
        {
            if (open)
                connection->rollback();
            // The database, not the migration: keeps its type (exit 69 at start) and its reason.
            throw sdk::StorageUnavailable(owner + " migration " + migration.name + ": " + error.why());
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

bool Database::hasMigrationTables()
{
    bool present = false;
    read([&](sdk::Transaction& transaction) {
        present = transaction
                      .execute(_dialect == sdk::Dialect::PostgreSQL
                                   ? "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
                                     "current_schema() AND table_name IN ('schema_migrations', 'plugin_migrations')"
                                   : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                                     "('schema_migrations', 'plugin_migrations')")
                      .front()
                      .integer(0) == 2;
    });
    return present;
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

#pragma once

#include "identity/sdk/Storage.h"

#include <Poco/Data/Session.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace identity::host
{

/// A failure after which the whole transaction may run again (PostgreSQL's serialization failure and
/// deadlock, SQLSTATE 40001 and 40P01).
class RetryableStorageError : public sdk::StorageError
{
public:
    using sdk::StorageError::StorageError;
};

/// One connection to the database, owned by the Database's pool, with the statements it prepared.
///
/// On SQLite Poco opens it and closes it; on PostgreSQL libpq does, here: Poco 1.11's PostgreSQL session
/// never frees the connection of a failed attempt, nor one that was lost (its disconnect() finishes only a
/// connection that is still up), about 34 KB each. Statements run on the native handle, prepared once per
/// connection and kept by their text: on SQLite `sqlite3_stmt`s, reset and bound again for each run (Poco 1.11
/// prepares a kept statement again at every execution); on PostgreSQL libpq prepared statements, run
/// with one round trip: Poco 1.11's PostgreSQL statement frees its last result twice when a statement that
/// ran before fails (POCO-NOTES), and a unique violation must not crash the host. A connection that
/// failed in a way that leaves it unusable is `broken()`, and the pool drops it instead of taking it back.
class Connection
{
public:
    /// Opens a connection (`connector`: the Poco connector, SQLite only); throws sdk::StorageUnavailable when
    /// the database cannot be reached.
    Connection(sdk::Dialect dialect, const std::string& connector, const std::string& connectionString);
    ~Connection();

    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    sdk::Dialect dialect() const { return _dialect; }

    /// Runs a statement through the cache. Failures become StorageConflict (a unique violation),
    /// StorageUnavailable (the database is gone, locked or overloaded; a lost connection is marked
    /// broken) or StorageError. Their texts keep the engine's error class and primary message, never the
    /// statement's parameters or the row that conflicted.
    sdk::Result execute(const std::string& sql, const std::vector<sdk::Value>& parameters);

    /// Runs a statement once, without keeping it (migrations, transaction control).
    void executeOnce(const std::string& sql);

    /// Write transactions start with `BEGIN IMMEDIATE` on SQLite (a deferred one that reads, then
    /// writes fails under concurrency), plain `BEGIN` elsewhere.
    void begin(bool write);
    void commit();
    /// Never throws; a connection whose rollback fails is broken.
    void rollback() noexcept;

    bool broken() const { return _broken; }

    /// SQLite: after each commit, calls `committed` with the pages the WAL holds, in place of SQLite's
    /// own checkpoint at 1,000 pages (which would run in the committing thread).
    void onWalCommit(std::function<void(int pages)> committed);
    /// SQLite: a passive checkpoint, copying what the WAL holds into the database file without waiting
    /// for readers or the writer; returns how many of the WAL's pages (from its start) are now in the
    /// database file, or -1 when another checkpoint was running.
    int checkpoint();
    /// SQLite: starts the WAL over once every page of it is in the database file, waiting at most
    /// `waitMillis` for readers (of an older snapshot, and still in the WAL), yielding, after a passive
    /// checkpoint has copied what it could (SQLITE_CHECKPOINT_RESTART); false when they did not. The
    /// writer calls it between batches: with readers that never pause, SQLite would otherwise append
    /// to the WAL for ever.
    bool restartWal(int waitMillis);

    /// Drops the connection when it goes back to the pool (its session settings were changed).
    void discard() { _broken = true; }


    /// True for PostgreSQL's serialization failure and deadlock: the transaction may run again.
    static bool retryable(const std::exception& error)
    {
        return dynamic_cast<const RetryableStorageError*>(&error) != nullptr;
    }

private:
    struct SqliteStatement;
    [[noreturn]] void failSqlite(int code, const std::string& operation);
    /// SQLite's authorizer: transaction control only from the storage itself (executeOnce).
    static int authorize(void* self, int action, const char*, const char*, const char*, const char*);
    bool _storageStatement = false;
    bool connectionLost() const;
    sdk::Result executeSqlite(const std::string& sql, const std::vector<sdk::Value>& parameters);
    sdk::Result executePostgres(const std::string& sql, const std::vector<sdk::Value>& parameters);
    /// Runs a command without parameters on PostgreSQL (transaction control, settings).
    void commandPostgres(const char* sql, const std::string& operation);
    /// Throws the SDK error for a failed PostgreSQL result (and clears it).
    [[noreturn]] void failPostgres(PGresult* result, const std::string& operation);

    sdk::Dialect _dialect;
    std::unique_ptr<Poco::Data::Session> _session;
    sqlite3* _sqlite = nullptr;                                                // SQLite: Poco's handle
    std::map<std::string, std::unique_ptr<SqliteStatement>> _sqliteStatements; // SQL text -> statement
    struct PgFinish
    {
        void operator()(PGconn* connection) const { PQfinish(connection); }
    };
    std::unique_ptr<PGconn, PgFinish> _pgConnection; // PostgreSQL: finished whatever its state
    PGconn* _pg = nullptr;                            // PostgreSQL: _pgConnection's handle
    std::map<std::string, std::string> _pgStatements; // SQL text -> prepared statement name
    unsigned long _pgStatementsPrepared = 0;
    /// Far above the statements the host and its plugins run; reached only by SQL built from values.
    static constexpr std::size_t maxCachedStatements = 512;
    std::function<void(int)> _walCommitted;
    static int walHook(void* self, sqlite3*, const char*, int pages);
    bool _inTransaction = false;
    bool _readOnlyTransaction = false;
    bool _broken = false;
};

} // namespace identity::host

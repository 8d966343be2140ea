#include "storage/Connection.h"

#include <Poco/Data/SQLite/Utility.h>

#include <sqlite3.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <thread>

namespace identity::host
{

namespace
{
/// How long a statement waits for another process's writer before it fails (every connection).
constexpr int busyTimeoutMillis = 10000;
/// The engine's message up to its first line break, without the DETAIL that PostgreSQL adds (it shows
/// the conflicting row's values).
std::string firstLine(const std::exception& error)
{
    const auto* poco = dynamic_cast<const Poco::Exception*>(&error);
    std::string text = poco ? poco->displayText() : error.what();
    const auto end = text.find_first_of("\r\n");
    if (end != std::string::npos)
        text.erase(end);
    const auto detail = text.find(" Detail:");
    if (detail != std::string::npos)
        text.erase(detail);
    if (text.size() > 300)
        text.erase(300);
    return text;
}

/// True when `text` holds no further statement (only whitespace and comments), as SQLite reads it.
bool holdsOnlySpace(sqlite3* db, const char* text)
{
    sqlite3_stmt* next = nullptr;
    const char* tail = nullptr;
    const int prepared = ::sqlite3_prepare_v2(db, text, -1, &next, &tail);
    const bool none = prepared == SQLITE_OK && next == nullptr;
    ::sqlite3_finalize(next);
    return none;
}

/// NOTICEs ("relation already exists, skipping") would go to stderr: nobody reads them there.
void dropNotice(void*, const char*) {}

struct ResultFree
{
    void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultFree>;

bool isIntegerType(Oid type)
{
    return type == 20 || type == 21 || type == 23 || type == 26;
} // int8 int2 int4 oid
} // namespace

Connection::Connection(sdk::Dialect dialect, const std::string& connector,
                       const std::string& connectionString)
    : _dialect(dialect)
{
    try
    {
        if (_dialect == sdk::Dialect::SQLite)
        {
            _session = std::make_unique<Poco::Data::Session>(connector, connectionString);
            // Poco opens and closes the connection; statements run on its handle directly, prepared once
            // and reset between runs (Poco 1.11 prepares a kept statement again at every execution).
            _sqlite = Poco::Data::SQLite::Utility::dbHandle(*_session);
            ::sqlite3_extended_result_codes(_sqlite, 1);
            // Transaction control belongs to the storage: a unit that ran COMMIT, ROLLBACK or RELEASE
            // would end other requests' units sharing its transaction.
            ::sqlite3_set_authorizer(_sqlite, &Connection::authorize, this);
            // Per connection, off by default: without it ON DELETE CASCADE does nothing.
            executeOnce("PRAGMA foreign_keys = ON");
            // Wait up to 10 s for another process's writer instead of failing at once.
            ::sqlite3_busy_timeout(_sqlite, busyTimeoutMillis);
            // Durable against a power loss, not only a crash: the WAL is synced at every commit, which
            // group commit shares among the units of a batch.
            executeOnce("PRAGMA synchronous = FULL");
            // Readers share the file's pages through the OS cache instead of each rebuilding its own
            // after every commit of the writer.
            executeOnce("PRAGMA mmap_size = 268435456");
        }
        else
        {
            _pgConnection.reset(PQconnectdb(connectionString.c_str()));
            _pg = _pgConnection.get();
            if (!_pg)
                throw sdk::StorageUnavailable("cannot connect to the database: out of memory");
            if (PQstatus(_pg) != CONNECTION_OK)
                throw std::runtime_error(PQerrorMessage(_pg));
            PQsetNoticeProcessor(_pg, dropNotice, nullptr);
            // No statement, lock wait or abandoned transaction holds a connection for ever. (A server
            // that stops answering altogether is bounded by TCP: keepalives and tcp_user_timeout in
            // the connection string.)
            commandPostgres("SET statement_timeout = '30s'", "connect");
            commandPostgres("SET lock_timeout = '10s'", "connect");
            commandPostgres("SET idle_in_transaction_session_timeout = '60s'", "connect");
        }
    }
    catch (const sdk::StorageUnavailable&)
    {
        throw;
    }
    catch (const std::exception& error)
    {
        // Never the connection string: it holds the password.
        throw sdk::StorageUnavailable("cannot connect to the database: " + firstLine(error));
    }
}

Connection::~Connection()
{
    _sqliteStatements.clear(); // before their session
    try
    {
        if (_session)
            _session->close();
    }
    catch (...)
    {
    }
}

void Connection::onWalCommit(std::function<void(int pages)> committed)
{
    _walCommitted = std::move(committed);
    ::sqlite3_wal_hook(_sqlite, &Connection::walHook, this); // replaces the automatic checkpoint
}

int Connection::walHook(void* self, sqlite3*, const char*, int pages)
{
    static_cast<Connection*>(self)->_walCommitted(pages);
    return SQLITE_OK;
}

int Connection::checkpoint()
{
    int walPages = 0, copied = 0;
    const int result = ::sqlite3_wal_checkpoint_v2(_sqlite, nullptr, SQLITE_CHECKPOINT_PASSIVE, &walPages, &copied);
    if (result != SQLITE_OK && result != SQLITE_BUSY) // busy: another checkpoint is running
        failSqlite(::sqlite3_extended_errcode(_sqlite), "checkpoint");
    return result == SQLITE_OK ? copied : -1;
}

namespace
{
/// How long a restart may wait for readers, counted from its first wait (SQLite's call count 0; one count
/// runs across both waits of one checkpoint call, readers of an older snapshot before it copies and
/// readers still in the WAL after, so restartWal copies first, with a passive checkpoint that waits for
/// nobody: the copy and its sync, tens of milliseconds on a loaded machine, are not readers' time).
struct ReaderWait
{
    std::chrono::milliseconds budget;
    std::chrono::steady_clock::time_point deadline;
};

/// A busy handler that yields instead of sleeping: readers leave the WAL within microseconds, and SQLite's
/// own handler would sleep a whole millisecond first.
int yieldUntil(void* argument, int calls)
{
    auto& wait = *static_cast<ReaderWait*>(argument);
    const auto now = std::chrono::steady_clock::now();
    if (calls == 0)
        wait.deadline = now + wait.budget;
    if (now >= wait.deadline)
        return 0;
    std::this_thread::yield();
    return 1;
}
} // namespace

bool Connection::restartWal(int waitMillis)
{
    int walPages = 0, copied = 0;
    const int passive = ::sqlite3_wal_checkpoint_v2(_sqlite, nullptr, SQLITE_CHECKPOINT_PASSIVE, &walPages, &copied);
    if (passive != SQLITE_OK && passive != SQLITE_BUSY)
        failSqlite(::sqlite3_extended_errcode(_sqlite), "checkpoint");
    ReaderWait wait{std::chrono::milliseconds(waitMillis), {}};
    ::sqlite3_busy_handler(_sqlite, &yieldUntil, &wait);
    const int result = ::sqlite3_wal_checkpoint_v2(_sqlite, nullptr, SQLITE_CHECKPOINT_RESTART, &walPages, &copied);
    ::sqlite3_busy_timeout(_sqlite, busyTimeoutMillis); // back to every connection's handler
    if (result != SQLITE_OK && result != SQLITE_BUSY)
        failSqlite(::sqlite3_extended_errcode(_sqlite), "checkpoint");
    return result == SQLITE_OK;
}

bool Connection::connectionLost() const
{
    if (_pg)
        return PQstatus(_pg) != CONNECTION_OK;
    try
    {
        return !_session || !_session->isConnected();
    }
    catch (...)
    {
        return true;
    }
}

sdk::Result Connection::execute(const std::string& sql, const std::vector<sdk::Value>& parameters)
{
    if (_broken)
        throw sdk::StorageUnavailable("the database connection was lost");
    return _pg ? executePostgres(sql, parameters) : executeSqlite(sql, parameters);
}

void Connection::failPostgres(PGresult* raw, const std::string& operation)
{
    ResultPtr result(raw);
    if (!result || connectionLost())
    {
        _broken = true;
        throw sdk::StorageUnavailable(operation + ": the database connection was lost");
    }
    const char* field = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
    const std::string state = field ? field : "";
    // The primary message only: DETAIL shows the row that conflicted.
    const char* primary = PQresultErrorField(result.get(), PG_DIAG_MESSAGE_PRIMARY);
    // Data exceptions (class 22) quote the offending value in their message: keep the SQLSTATE only.
    const std::string what =
        operation + ": SQLSTATE " +
        (state.empty() ? std::string(PQresStatus(PQresultStatus(result.get()))) : state) +
        (state.rfind("22", 0) == 0 ? std::string() : std::string(": ") + (primary ? primary : "error"));
    if (state == "23505")
        throw sdk::StorageConflict(what);
    if (state == "40001" || state == "40P01")
        throw RetryableStorageError(what);
    // Connection classes, shutdown, and a server that became read-only (a demoted primary): this
    // connection is done; a new one may reach the new primary.
    // A write inside Storage::read is the caller's bug, not an outage (the connection is fine).
    if (state == "25006" && _inTransaction && _readOnlyTransaction)
        throw sdk::StorageError(operation + ": a unit of work given to Storage::read wrote (SQLSTATE 25006)");
    if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0 || state == "25006")
    {
        _broken = true;
        throw sdk::StorageUnavailable(what);
    }
    // The database is overloaded or slow, not the request wrong: lock and statement timeouts, out of
    // resources. Answered 503, and the next request may succeed.
    if (state == "55P03" || state == "57014" || state.rfind("53", 0) == 0)
        throw sdk::StorageUnavailable(what);
    throw sdk::StorageError(what);
}

void Connection::commandPostgres(const char* sql, const std::string& operation)
{
    PGresult* result = PQexec(_pg, sql);
    const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    // A migration may hold a SELECT (setval, set_config) or nothing but a comment.
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY)
        failPostgres(result, operation);
    PQclear(result);
}

sdk::Result Connection::executePostgres(const std::string& sql, const std::vector<sdk::Value>& parameters)
{
    auto found = _pgStatements.find(sql);
    if (found == _pgStatements.end())
    {
        if (_pgStatements.size() >= maxCachedStatements)
        {
            // SQL built from values would grow the cache without end: start it again.
            commandPostgres("DEALLOCATE ALL", "statement cache");
            _pgStatements.clear();
        }
        const std::string name = "identity_" + std::to_string(++_pgStatementsPrepared);
        // Parameter types are left to the server, from where each $n stands.
        PGresult* prepared =
            PQprepare(_pg, name.c_str(), sql.c_str(), static_cast<int>(parameters.size()), nullptr);
        if (!prepared || PQresultStatus(prepared) != PGRES_COMMAND_OK)
            failPostgres(prepared, "prepare");
        PQclear(prepared);
        found = _pgStatements.emplace(sql, name).first;
    }
    // Text parameters; NULL is a null pointer.
    std::vector<std::string> texts(parameters.size());
    std::vector<const char*> values(parameters.size());
    for (std::size_t i = 0; i < parameters.size(); ++i)
    {
        if (parameters[i].isNull())
            continue;
        texts[i] = parameters[i].text();
        // libpq takes text parameters as C strings, and PostgreSQL's text holds no NUL: refused, never cut
        // short (the value checked must be the value stored).
        if (texts[i].find('\0') != std::string::npos)
            throw sdk::StorageError("statement: parameter $" + std::to_string(i + 1) + " holds a NUL byte");
        values[i] = texts[i].c_str();
    }
    ResultPtr result(PQexecPrepared(_pg, found->second.c_str(), static_cast<int>(values.size()),
                                    values.empty() ? nullptr : values.data(), nullptr, nullptr, 0));
    const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    sdk::Result out;
    if (status == PGRES_COMMAND_OK)
    {
        const char* tuples = PQcmdTuples(result.get());
        out.affected = tuples && *tuples ? static_cast<std::size_t>(std::strtoull(tuples, nullptr, 10)) : 0;
        return out;
    }
    if (status != PGRES_TUPLES_OK)
        failPostgres(result.release(), "statement");
    const int rows = PQntuples(result.get()), columns = PQnfields(result.get());
    out.rows.reserve(static_cast<std::size_t>(rows));
    for (int row = 0; row < rows; ++row)
    {
        std::vector<sdk::Value> values;
        values.reserve(static_cast<std::size_t>(columns));
        for (int column = 0; column < columns; ++column)
        {
            if (PQgetisnull(result.get(), row, column))
                values.emplace_back();
            else if (PQftype(result.get(), column) == 16) // bool: 0 or 1, as SQLite answers
                values.emplace_back(Poco::Int64(PQgetvalue(result.get(), row, column)[0] == 't'));
            else if (isIntegerType(PQftype(result.get(), column)))
                values.emplace_back(static_cast<Poco::Int64>(
                    std::strtoll(PQgetvalue(result.get(), row, column), nullptr, 10)));
            else
                values.emplace_back(
                    std::string(PQgetvalue(result.get(), row, column),
                                static_cast<std::size_t>(PQgetlength(result.get(), row, column))));
        }
        out.rows.emplace_back(std::move(values));
    }
    out.affected = out.rows.size();
    return out;
}

namespace
{
struct StatementFinalize
{
    void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
} // namespace

/// A prepared SQLite statement, kept on its connection and reset between runs.
struct Connection::SqliteStatement
{
    std::unique_ptr<sqlite3_stmt, StatementFinalize> statement;
};

int Connection::authorize(void* self, int action, const char*, const char*, const char*, const char*)
{
    if (action != SQLITE_TRANSACTION && action != SQLITE_SAVEPOINT)
        return SQLITE_OK;
    return static_cast<Connection*>(self)->_storageStatement ? SQLITE_OK : SQLITE_DENY;
}

void Connection::failSqlite(int code, const std::string& operation)
{
    const std::string message = ::sqlite3_errmsg(_sqlite);
    const int primary = code & 0xff;
    // Busy past the timeout, or a table locked by another connection: busy, not broken.
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        throw sdk::StorageUnavailable(operation + ": the database is locked by another process");
    if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
        throw sdk::StorageConflict(operation + ": unique constraint violated (" + message + ")");
    if (primary == SQLITE_IOERR || primary == SQLITE_CORRUPT || primary == SQLITE_CANTOPEN ||
        primary == SQLITE_NOTADB || primary == SQLITE_FULL || primary == SQLITE_READONLY)
    {
        _broken = true;
        throw sdk::StorageUnavailable(operation + ": " + message);
    }
    // SQLite's messages name columns and constraints, never the values bound.
    throw sdk::StorageError(operation + ": " + message);
}

sdk::Result Connection::executeSqlite(const std::string& sql, const std::vector<sdk::Value>& parameters)
{
    // SQLite ended the whole transaction by itself (OR ROLLBACK, RAISE(ROLLBACK), out of memory): what
    // follows would commit statement by statement. The unit fails, and the connection is not used again.
    if (_inTransaction && ::sqlite3_get_autocommit(_sqlite))
    {
        _broken = true;
        throw sdk::StorageError("statement: SQLite rolled the transaction back; the unit of work is over");
    }
    auto found = _sqliteStatements.find(sql);
    if (found == _sqliteStatements.end())
    {
        if (_sqliteStatements.size() >= maxCachedStatements)
            _sqliteStatements.clear(); // SQL built from values would grow the cache without end
        sqlite3_stmt* raw = nullptr;
        const char* tail = nullptr;
        const int prepared = ::sqlite3_prepare_v3(_sqlite, sql.c_str(), static_cast<int>(sql.size()),
                                                  SQLITE_PREPARE_PERSISTENT, &raw, &tail);
        std::unique_ptr<sqlite3_stmt, StatementFinalize> statement(raw);
        if (prepared != SQLITE_OK)
            failSqlite(prepared, "prepare");
        if (!statement || (tail && *tail && !holdsOnlySpace(_sqlite, tail)))
            throw sdk::StorageError("prepare: execute takes exactly one statement");
        auto entry = std::make_unique<SqliteStatement>();
        entry->statement = std::move(statement);
        found = _sqliteStatements.emplace(sql, std::move(entry)).first;
    }
    sqlite3_stmt* statement = found->second->statement.get();
    struct Reset // ends the statement's implicit read, whatever happens
    {
        sqlite3_stmt* statement;
        ~Reset()
        {
            ::sqlite3_reset(statement);
            ::sqlite3_clear_bindings(statement);
        }
    } reset{statement};

    if (static_cast<int>(parameters.size()) != ::sqlite3_bind_parameter_count(statement))
        throw sdk::StorageError("statement: " + std::to_string(parameters.size()) + " parameters for " +
                                std::to_string(::sqlite3_bind_parameter_count(statement)) + " placeholders");
    for (std::size_t i = 0; i < parameters.size(); ++i)
    {
        // SQLite numbers "$1" by where it first appears, not by its digits: `VALUES ($2, $1)` would swap
        // the values. Bound by name, as PostgreSQL reads them.
        const std::string name = "$" + std::to_string(i + 1);
        const int index = ::sqlite3_bind_parameter_index(statement, name.c_str());
        if (index == 0)
            throw sdk::StorageError("statement: no placeholder " + name + " for parameter " +
                                    std::to_string(i + 1));
        int bound = SQLITE_OK;
        switch (parameters[i].kind())
        {
        case sdk::Value::Kind::Null:
            bound = ::sqlite3_bind_null(statement, index);
            break;
        case sdk::Value::Kind::Integer:
            bound = ::sqlite3_bind_int64(statement, index, parameters[i].integer());
            break;
        case sdk::Value::Kind::Text:
        {
            const std::string text = parameters[i].text();
            // As on PostgreSQL, which cannot store one: the same on both engines.
            if (text.find('\0') != std::string::npos)
                throw sdk::StorageError("statement: parameter " + name + " holds a NUL byte");
            bound = ::sqlite3_bind_text(statement, index, text.data(), static_cast<int>(text.size()),
                                        SQLITE_TRANSIENT);
            break;
        }
        }
        if (bound != SQLITE_OK)
            failSqlite(bound, "bind");
    }

    sdk::Result result;
    const int columns = ::sqlite3_column_count(statement);
    const auto changesBefore = ::sqlite3_total_changes64(_sqlite);
    for (;;)
    {
        const int stepped = ::sqlite3_step(statement);
        if (stepped == SQLITE_DONE)
            break;
        if (stepped != SQLITE_ROW)
            failSqlite(::sqlite3_extended_errcode(_sqlite), "statement");
        std::vector<sdk::Value> values;
        values.reserve(static_cast<std::size_t>(columns));
        for (int column = 0; column < columns; ++column)
        {
            switch (::sqlite3_column_type(statement, column))
            {
            case SQLITE_NULL:
                values.emplace_back();
                break;
            case SQLITE_INTEGER:
                values.emplace_back(static_cast<Poco::Int64>(::sqlite3_column_int64(statement, column)));
                break;
            default: // text, a blob, or a real: as text
            {
                const auto* text = ::sqlite3_column_text(statement, column);
                values.emplace_back(
                    std::string(reinterpret_cast<const char*>(text),
                                static_cast<std::size_t>(::sqlite3_column_bytes(statement, column))));
            }
            }
        }
        result.rows.emplace_back(std::move(values));
    }
    // Rows this statement changed (sqlite3_changes would report the previous DML's after DDL).
    result.affected = columns == 0
                          ? static_cast<std::size_t>(::sqlite3_total_changes64(_sqlite) - changesBefore)
                          : result.rows.size();
    return result;
}

void Connection::executeOnce(const std::string& sql)
{
    if (_broken)
        throw sdk::StorageUnavailable("the database connection was lost");
    if (_pg)
    {
        commandPostgres(sql.c_str(), "statement");
        return;
    }
    _storageStatement = true;
    const int done = ::sqlite3_exec(_sqlite, sql.c_str(), nullptr, nullptr, nullptr);
    _storageStatement = false;
    if (done != SQLITE_OK)
        failSqlite(::sqlite3_extended_errcode(_sqlite), "statement");
}

void Connection::begin(bool write)
{
    try
    {
        if (_dialect == sdk::Dialect::SQLite)
            executeOnce(write ? "BEGIN IMMEDIATE" : "BEGIN");
        else
            // A write runs in READ COMMITTED (the default): a count taken after Transaction::lock sees
            // what the lock's previous holder committed. A read sees one snapshot and cannot write.
            executeOnce(write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    }
    catch (...)
    {
        // A connection that cannot begin because it is lost, or because it is still inside a
        // transaction it failed to end, must never be handed out again. (SQLite busy is neither.)
        if (_pg || !::sqlite3_get_autocommit(_sqlite))
            _broken = true;
        throw;
    }
    _inTransaction = true;
    _readOnlyTransaction = !write;
}

void Connection::commit()
{
    if (!_pg)
    {
        executeOnce("COMMIT"); // on failure the transaction is still open: rollback() ends it
        _inTransaction = false;
        return;
    }
    if (_broken)
        throw sdk::StorageUnavailable("the database connection was lost");
    PGresult* result = PQexec(_pg, "COMMIT");
    _inTransaction = false; // on PostgreSQL, whatever COMMIT answers, the transaction is over
    if (!result || PQresultStatus(result) != PGRES_COMMAND_OK)
        failPostgres(result, "commit");
    // A transaction in which a statement failed answers COMMIT with ROLLBACK: nothing was kept.
    const bool rolledBack = std::string(PQcmdStatus(result)) == "ROLLBACK";
    PQclear(result);
    if (rolledBack)
        throw sdk::StorageError("commit: a statement of the transaction had failed, so nothing was kept");
}

void Connection::rollback() noexcept
{
    if (_broken || !_inTransaction)
        return;
    _inTransaction = false;
    try
    {
        // Always before the connection goes back to the pool: an open SQLite transaction keeps the
        // write lock, an open PostgreSQL one its row locks.
        executeOnce("ROLLBACK");
    }
    catch (...)
    {
        _broken = true;
    }
}

} // namespace identity::host

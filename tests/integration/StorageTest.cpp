// The storage the SDK hands plugins, on the engine the run selects: SQLite by default, PostgreSQL in the
// `StorageTest_postgresql` run (IDENTITY_TEST_POSTGRES_STATE). Units of work, conflicts, the statement
// cache, locks, the pool's bounded wait, outages, and plugin-owned migrations.
#include "storage/Database.h"
#include "storage/SqlScript.h"
#include "support/TestDatabase.h"
#include "support/TestServer.h" // waitFor

#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/StreamCopier.h>
#include <Poco/TemporaryFile.h>

#include <cppunit/extensions/HelperMacros.h>

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <cstdlib>
#include <unistd.h>

using namespace identity;
using sdk::Value;

namespace
{
std::vector<host::Migration>
tableMigration(const std::string& sql = "CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT)")
{
    return {{1, "0001_notes", sql}};
}
} // namespace

class StorageTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(StorageTest);
    CPPUNIT_TEST(testValuesRoundTripThroughOneCachedStatement);
    CPPUNIT_TEST(testWorkThatThrowsKeepsNothing);
    CPPUNIT_TEST(testUniqueViolationIsAConflictAndKeepsNothing);
    CPPUNIT_TEST(testLockSerializesReadThenWriteAcrossConnections);
    CPPUNIT_TEST(testBusyPoolAnswersUnavailableThenRecovers);
    CPPUNIT_TEST(testUnreachableDatabaseIsUnavailable);
    CPPUNIT_TEST(testPluginMigrationsAreRecordedApartAndApplyOnce);
    CPPUNIT_TEST(testEditedMigrationIsRefused);
    CPPUNIT_TEST(testFailedMigrationKeepsNothing);
    CPPUNIT_TEST(testInstancesStartingAtOnceApplyEachMigrationOnce);
    CPPUNIT_TEST(testFunctionBodiesSurviveTheMigrationRunner);
    CPPUNIT_TEST(testLegacyDatabaseUpgradesInPlace);
    CPPUNIT_TEST(testEmailFoldingMigrationFoldsAndStopsAtCaseDuplicates);
    CPPUNIT_TEST(testPasswordStringNeverReachesErrors);
    CPPUNIT_TEST(testFailedCommitLeavesTheConnectionUsable);
    CPPUNIT_TEST(testStatementTimeoutIsUnavailable);
    CPPUNIT_TEST(testDeadIdleConnectionsAreReplacedWithoutAnError);
    CPPUNIT_TEST(testNulInTextIsRefusedOnEveryEngine);
    CPPUNIT_TEST(testUnitOfWorkCannotStartAnother);
    CPPUNIT_TEST(testWriteInsideReadIsAnErrorNotAnOutage);
    CPPUNIT_TEST(testBooleansAreIntegersOnEveryEngine);
    CPPUNIT_TEST(testConcurrentUnitsShareOneCommitOnSqlite);
    CPPUNIT_TEST(testCheckpointsMoveTheWalIntoTheDatabaseFile);
    CPPUNIT_TEST(testWalStartsOverWhileReadersNeverPause);
    CPPUNIT_TEST(testPlaceholdersBindByTheirNumber);
    CPPUNIT_TEST(testUnitCannotEndTheSharedTransaction);
    CPPUNIT_TEST(testOneUnitsFailureNeverFailsItsNeighbours);
    CPPUNIT_TEST(testSymlinkedMigrationIsRefusedAndLineEndsDoNotCount);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _folder = Poco::TemporaryFile::tempName();
        Poco::File(_folder).createDirectories();
        _testDatabase = std::make_unique<test::TestDatabase>(_folder);
        _database = std::make_unique<host::Database>(_testDatabase->url(), 8);
        _database->migrate();
    }

    void tearDown() override
    {
        _database.reset();
        _testDatabase.reset();
        Poco::File(_folder).remove(true);
    }

    void testValuesRoundTripThroughOneCachedStatement()
    {
        _database->migratePlugin("notes",
                                 tableMigration("CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT, "
                                                "n BIGINT)"));
        // The same statement text with integers, text, NULL and a 64-bit value: each binds right.
        const Poco::Int64 big = Poco::Int64(1) << 40;
        _database->write(
            [&](sdk::Transaction& transaction)
            {
                for (int i = 0; i < 20; ++i)
                    transaction.execute("INSERT INTO notes(id, body, n) VALUES ($1, $2, $3)",
                                        {Value("note-" + std::to_string(i)),
                                         i % 2 ? Value("body " + std::to_string(i)) : Value(),
                                         i == 7 ? Value(big) : Value(i)});
            });
        _database->read(
            [&](sdk::Transaction& transaction)
            {
                const sdk::Result odd =
                    transaction.execute("SELECT body, n FROM notes WHERE id = $1", {Value("note-7")});
                CPPUNIT_ASSERT_EQUAL(std::size_t(1), odd.rows.size());
                CPPUNIT_ASSERT_EQUAL(std::string("body 7"), odd.front().text(0));
                CPPUNIT_ASSERT_EQUAL(big, odd.front().integer(1));
                const sdk::Result even =
                    transaction.execute("SELECT body, n FROM notes WHERE id = $1", {Value("note-4")});
                CPPUNIT_ASSERT(even.front().isNull(0));
                CPPUNIT_ASSERT_EQUAL(Poco::Int64(4), even.front().integer(1));
                const sdk::Result none =
                    transaction.execute("SELECT body FROM notes WHERE id = $1", {Value("missing")});
                CPPUNIT_ASSERT(none.empty());
                CPPUNIT_ASSERT_EQUAL(Poco::Int64(20),
                                     transaction.execute("SELECT COUNT(*) FROM notes").front().integer(0));
            });
        std::size_t changed = 0;
        _database->write(
            [&](sdk::Transaction& transaction) {
                changed =
                    transaction.execute("UPDATE notes SET n = n + 1 WHERE n < $1", {Value(10)}).affected;
            });
        CPPUNIT_ASSERT_EQUAL(std::size_t(9), changed); // 0..9 but 7, which holds 2^40
    }

    void testWorkThatThrowsKeepsNothing()
    {
        _database->migratePlugin("notes", tableMigration());
        CPPUNIT_ASSERT_THROW(_database->write(
                                 [&](sdk::Transaction& transaction)
                                 {
                                     transaction.execute("INSERT INTO notes(id, body) VALUES ($1, $2)",
                                                         {Value("a"), Value("kept?")});
                                     throw sdk::ApiError::resourceExhausted(5);
                                 }),
                             sdk::ApiError);
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(0), count("SELECT COUNT(*) FROM notes"));
        // The connection went back clean: the next unit of work commits.
        _database->write(
            [&](sdk::Transaction& transaction) {
                transaction.execute("INSERT INTO notes(id, body) VALUES ($1, $2)",
                                    {Value("a"), Value("kept")});
            });
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(1), count("SELECT COUNT(*) FROM notes"));
    }

    void testUniqueViolationIsAConflictAndKeepsNothing()
    {
        _database->migratePlugin("notes", tableMigration());
        _database->write(
            [&](sdk::Transaction& transaction) {
                transaction.execute("INSERT INTO notes(id, body) VALUES ($1, $2)",
                                    {Value("same"), Value("first")});
            });
        try
        {
            _database->write(
                [&](sdk::Transaction& transaction)
                {
                    transaction.execute("INSERT INTO notes(id, body) VALUES ($1, $2)",
                                        {Value("other"), Value("x")});
                    transaction.execute("INSERT INTO notes(id, body) VALUES ($1, $2)",
                                        {Value("same"), Value("alice@example.com")});
                });
            CPPUNIT_FAIL("a duplicate key was accepted");
        }
        catch (const sdk::StorageConflict& conflict)
        {
            // The engine's detail names the conflicting row; the error must not.
            CPPUNIT_ASSERT_MESSAGE(conflict.what(),
                                   std::string(conflict.what()).find("same") == std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(conflict.what(),
                                   std::string(conflict.what()).find("alice") == std::string::npos);
        }
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(1), count("SELECT COUNT(*) FROM notes"));
    }

    void testLockSerializesReadThenWriteAcrossConnections()
    {
        // Read, then write back plus one: without the lock, concurrent units on PostgreSQL (READ
        // COMMITTED) read the same value and increments are lost.
        _database->migratePlugin("counter",
                                 tableMigration("CREATE TABLE counter (id INTEGER PRIMARY KEY, n BIGINT)"));
        _database->write([&](sdk::Transaction& transaction)
                         { transaction.execute("INSERT INTO counter VALUES (1, 0)"); });
        constexpr int threads = 6, rounds = 25;
        std::vector<std::thread> workers;
        std::atomic<int> failures{0};
        for (int t = 0; t < threads; ++t)
            workers.emplace_back(
                [&]
                {
                    for (int r = 0; r < rounds; ++r)
                    {
                        try
                        {
                            _database->write(
                                [&](sdk::Transaction& transaction)
                                {
                                    transaction.lock("test:counter");
                                    const Poco::Int64 n =
                                        transaction.execute("SELECT n FROM counter WHERE id = 1")
                                            .front()
                                            .integer(0);
                                    transaction.execute("UPDATE counter SET n = $1 WHERE id = 1",
                                                        {Value(n + 1)});
                                });
                        }
                        catch (...)
                        {
                            ++failures;
                        }
                    }
                });
        for (auto& worker : workers)
            worker.join();
        CPPUNIT_ASSERT_EQUAL(0, failures.load());
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(threads * rounds), count("SELECT n FROM counter WHERE id = 1"));
    }

    void testBusyPoolAnswersUnavailableThenRecovers()
    {
        host::Database small(_testDatabase->url(), 2, std::chrono::milliseconds(200));
        std::mutex mutex;
        std::condition_variable changed;
        int holding = 0;
        bool release = false;
        std::vector<std::thread> holders;
        for (int i = 0; i < 2; ++i)
            holders.emplace_back(
                [&]
                {
                    small.read(
                        [&](sdk::Transaction&)
                        {
                            std::unique_lock<std::mutex> lock(mutex);
                            ++holding;
                            changed.notify_all();
                            changed.wait(lock, [&] { return release; });
                        });
                });
        {
            std::unique_lock<std::mutex> lock(mutex);
            changed.wait(lock, [&] { return holding == 2; });
        }
        CPPUNIT_ASSERT_THROW(
            small.read([](sdk::Transaction& transaction) { transaction.execute("SELECT 1"); }),
            sdk::StorageUnavailable);
        {
            std::lock_guard<std::mutex> lock(mutex);
            release = true;
        }
        changed.notify_all();
        for (auto& holder : holders)
            holder.join();
        CPPUNIT_ASSERT(small.ping());
    }

    void testUnreachableDatabaseIsUnavailable()
    {
        if (!_testDatabase->postgres())
            return; // a SQLite file is always there
        // Port 1 on loopback: nothing listens there.
        CPPUNIT_ASSERT_THROW(host::Database("postgresql://u:secret-password@127.0.0.1:1/none", 2),
                             sdk::StorageUnavailable);
    }

    void testPasswordStringNeverReachesErrors()
    {
        if (!_testDatabase->postgres())
            return;
        try
        {
            host::Database("postgresql://u:secret-password@127.0.0.1:1/none", 2);
            CPPUNIT_FAIL("connected to nothing");
        }
        catch (const sdk::StorageUnavailable& error)
        {
            CPPUNIT_ASSERT_MESSAGE(error.why(), error.why().find("secret-password") == std::string::npos);
        }
        // A URL the connector cannot carry is refused, not cut short.
        CPPUNIT_ASSERT_THROW(
            host::Database::postgresConnectionString("postgresql://u:a%20b@127.0.0.1:5432/db"),
            Poco::InvalidArgumentException);
        // A key that smuggles a space (and with it a parameter of its choosing) is refused too.
        CPPUNIT_ASSERT_THROW(host::Database::postgresConnectionString(
                                 "postgresql://u:p@127.0.0.1:5432/db?sslmode%3Ddisable%20dbname=other"),
                             Poco::InvalidArgumentException);
        CPPUNIT_ASSERT_EQUAL(
            std::string(
                "application_name=identity-host connect_timeout=5 dbname=db host=127.0.0.1 keepalives=1 "
                "keepalives_count=3 keepalives_idle=30 keepalives_interval=10 password=p@ss port=5432 "
                "sslmode=verify-full target_session_attrs=read-write tcp_user_timeout=60000 user=me"),
            host::Database::postgresConnectionString(
                "postgresql://me:p%40ss@127.0.0.1:5432/db?sslmode=verify-full"));
    }

    void testPluginMigrationsAreRecordedApartAndApplyOnce()
    {
        const int hostVersion = _database->version();
        CPPUNIT_ASSERT(hostVersion >= 2);
        auto migrations = tableMigration();
        migrations.push_back({2, "0002_notes_author", "ALTER TABLE notes ADD COLUMN author TEXT"});
        CPPUNIT_ASSERT_EQUAL(2, _database->migratePlugin("notes", migrations));
        CPPUNIT_ASSERT_EQUAL(0, _database->migratePlugin("notes", migrations));
        CPPUNIT_ASSERT(_database->pluginVersions("notes") == std::vector<int>({1, 2}));
        CPPUNIT_ASSERT(_database->pluginVersions("other").empty());
        CPPUNIT_ASSERT_EQUAL(hostVersion, _database->version());
        // A third migration later, with no host change: only it runs.
        migrations.push_back({3, "0003_notes_index", "CREATE INDEX notes_author ON notes(author)"});
        CPPUNIT_ASSERT_EQUAL(1, _database->migratePlugin("notes", migrations));
        _database->write(
            [&](sdk::Transaction& transaction)
            {
                transaction.execute("INSERT INTO notes(id, body, author) VALUES ($1, $2, $3)",
                                    {Value("n"), Value("b"), Value("me")});
            });
    }

    void testEditedMigrationIsRefused()
    {
        _database->migratePlugin("notes", tableMigration());
        CPPUNIT_ASSERT_THROW(
            _database->migratePlugin("notes",
                                     tableMigration("CREATE TABLE notes (id TEXT PRIMARY KEY, body BLOB)")),
            Poco::DataException);
    }

    void testFailedMigrationKeepsNothing()
    {
        std::vector<host::Migration> migrations = {
            {1, "0001_half", "CREATE TABLE half (id TEXT PRIMARY KEY);\nINSERT INTO nowhere VALUES (1);"}};
        CPPUNIT_ASSERT_THROW(_database->migratePlugin("half", migrations), Poco::DataException);
        CPPUNIT_ASSERT(_database->pluginVersions("half").empty());
        // The table of the failed migration's first statement is gone with it.
        CPPUNIT_ASSERT_NO_THROW(
            _database->migratePlugin("half", {{1, "0001_half", "CREATE TABLE half (id TEXT)"}}));
    }

    void testInstancesStartingAtOnceApplyEachMigrationOnce()
    {
        // Two hosts' databases, one server; each thread plays an instance starting up.
        std::vector<std::unique_ptr<host::Database>> instances;
        for (int i = 0; i < 4; ++i)
            instances.push_back(std::make_unique<host::Database>(_testDatabase->url(), 2));
        std::vector<host::Migration> migrations = tableMigration();
        migrations.push_back({2, "0002_rows", "INSERT INTO notes(id, body) VALUES ('once', 'only once')"});
        std::atomic<int> applied{0}, failed{0};
        std::vector<std::thread> starts;
        for (auto& instance : instances)
            starts.emplace_back(
                [&, database = instance.get()]
                {
                    try
                    {
                        applied += database->migratePlugin("notes", migrations);
                    }
                    catch (...)
                    {
                        ++failed;
                    }
                });
        for (auto& start : starts)
            start.join();
        CPPUNIT_ASSERT_EQUAL(0, failed.load());
        CPPUNIT_ASSERT_EQUAL(2, applied.load());
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(1), count("SELECT COUNT(*) FROM notes"));
    }

    void testFunctionBodiesSurviveTheMigrationRunner()
    {
        std::string sql;
        if (_database->dialect() == sdk::Dialect::PostgreSQL)
            sql = "CREATE TABLE audit_notes (id TEXT PRIMARY KEY, touched BIGINT NOT NULL DEFAULT 0);\n"
                  "CREATE FUNCTION touch_note() RETURNS trigger AS $$\n"
                  "BEGIN\n"
                  "    NEW.touched := NEW.touched + 1; -- a ';' inside the body\n"
                  "    RETURN NEW;\n"
                  "END;\n"
                  "$$ LANGUAGE plpgsql;\n"
                  "CREATE TRIGGER touch BEFORE UPDATE ON audit_notes FOR EACH ROW EXECUTE FUNCTION "
                  "touch_note();\n";
        else
            sql = "CREATE TABLE audit_notes (id TEXT PRIMARY KEY, touched INTEGER NOT NULL DEFAULT 0);\n"
                  "CREATE TRIGGER touch AFTER UPDATE OF id ON audit_notes FOR EACH ROW BEGIN\n"
                  "    UPDATE audit_notes SET touched = touched + 1 WHERE id = NEW.id; -- a ';' inside\n"
                  "END;\n";
        _database->migratePlugin("triggers", {{1, "0001_trigger", sql}});
        _database->write([&](sdk::Transaction& transaction)
                         { transaction.execute("INSERT INTO audit_notes(id) VALUES ($1)", {Value("a")}); });
        _database->write(
            [&](sdk::Transaction& transaction) {
                transaction.execute("UPDATE audit_notes SET id = $1 WHERE id = $2", {Value("b"), Value("a")});
            });
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(1), count("SELECT touched FROM audit_notes WHERE id = 'b'"));
    }

    void testLegacyDatabaseUpgradesInPlace()
    {
        if (_testDatabase->postgres())
            return; // PostgreSQL arrived with SDK 3.0: there is no older PostgreSQL database
        // A development database as SDK 2.0 hosts left it: every table in the host's first migration.
        const std::string path = _folder + "/legacy.db";
        {
            host::Database legacy("sqlite:" + path, 2);
            std::string sql;
            Poco::FileInputStream in(std::string(IDENTITY_SOURCE_DIR) +
                                     "/tests/fixtures/legacy-0001_initial.sql");
            Poco::StreamCopier::copyToString(in, sql);
            legacy.migratePlugin("unused", {}); // creates the bookkeeping tables
            legacy.write(
                [&](sdk::Transaction& transaction)
                {
                    for (const std::string& statement : host::splitSqliteScript(sql))
                        transaction.execute(statement);
                    transaction.execute("INSERT INTO schema_migrations(version, name, applied_at) VALUES (1, "
                                        "'0001_initial', 0)");
                    transaction.execute(
                        "INSERT INTO users(id, email, password_hash, created_at, updated_at) VALUES "
                        "('u1', 'U1@Example.com', 'h', 0, 0)");
                    transaction.execute(
                        "INSERT INTO verification_codes(id, user_id, session_id, purpose, channel, "
                        "code_hash, created_at, expires_at) VALUES ('c1', 'u1', 's1', "
                        "'reauthenticate', 'email', 'h', 0, 9999999999)");
                });
        }
        host::Database upgraded("sqlite:" + path, 2);
        const std::string dialect = "sqlite";
        // Every host migration but 0001, which ran before.
        CPPUNIT_ASSERT_EQUAL(
            static_cast<int>(host::readMigrations(std::string(IDENTITY_SOURCE_DIR) + "/schema/" + dialect).size()) - 1,
            upgraded.migrate());
        CPPUNIT_ASSERT_EQUAL(6, upgraded.migratePlugin("reauthenticate",
                                                       host::readMigrations(std::string(IDENTITY_SOURCE_DIR) +
                                                                            "/plugin/schema/" + dialect)));
        Poco::Int64 codes = 0, failures = -1;
        std::string email;
        upgraded.read(
            [&](sdk::Transaction& transaction)
            {
                email = transaction.execute("SELECT email FROM users WHERE id = 'u1'").front().text(0);
                codes = transaction.execute("SELECT COUNT(*) FROM verification_codes WHERE id = 'c1'")
                            .front()
                            .integer(0);
                failures =
                    transaction.execute("SELECT COUNT(updated_at) FROM password_failures").front().integer(0);
            });
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(1), codes); // the plugin adopted its tables, rows and all
        CPPUNIT_ASSERT_EQUAL(std::string("u1@example.com"), email); // folded: one address, one account
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(0), failures);
        CPPUNIT_ASSERT(upgraded.pluginVersions("reauthenticate") == std::vector<int>({1, 2, 3, 4, 5, 6}));
    }

    /// Runs the host's migration `version` again, as it runs on a database made before it.
    void runHostMigration(int version)
    {
        const bool postgres = _database->dialect() == sdk::Dialect::PostgreSQL;
        for (const host::Migration& migration :
             host::readMigrations(std::string(IDENTITY_SOURCE_DIR) + "/schema/" + (postgres ? "postgresql" : "sqlite")))
            if (migration.version == version)
                _database->write([&](sdk::Transaction& transaction) {
                    for (const std::string& statement : postgres ? host::splitSqlScript(migration.sql)
                                                                 : host::splitSqliteScript(migration.sql))
                        transaction.execute(statement);
                });
    }

    void testEmailFoldingMigrationFoldsAndStopsAtCaseDuplicates()
    {
        // Rows as hosts before 0005 wrote them: the address as given. Non-ASCII letters stay as they are.
        _database->write([&](sdk::Transaction& transaction) {
            transaction.execute("INSERT INTO users(id, email, password_hash, created_at, updated_at) VALUES "
                                "('a', 'Ann@Example.COM', 'h', 0, 0), ('b', '\xc3\x89mile@example.com', 'h', 0, 0), "
                                "('c', NULL, 'h', 0, 0)");
        });
        runHostMigration(5);
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(1), count("SELECT COUNT(*) FROM users WHERE id = 'a' AND email = 'ann@example.com'"));
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(1), count("SELECT COUNT(*) FROM users WHERE id = 'b' AND email = '\xc3\x89mile@example.com'"));
        // Two accounts of one address in two cases: the migration stops, changing nothing.
        _database->write([&](sdk::Transaction& transaction) {
            transaction.execute("INSERT INTO users(id, email, password_hash, created_at, updated_at) VALUES "
                                "('d', 'Dup@example.com', 'h', 0, 0), ('e', 'dup@example.com', 'h', 0, 0), "
                                "('f', 'Fold@Me.com', 'h', 0, 0)");
        });
        CPPUNIT_ASSERT_THROW(runHostMigration(5), sdk::StorageError);
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(1), count("SELECT COUNT(*) FROM users WHERE email = 'Fold@Me.com'"));
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(1), count("SELECT COUNT(*) FROM users WHERE email = 'Dup@example.com'"));
    }

    void testFailedCommitLeavesTheConnectionUsable()
    {
        // A constraint checked at COMMIT: the commit fails. The connection must come back to the pool
        // out of its transaction, or every later unit fails on it.
        const bool postgres = _database->dialect() == sdk::Dialect::PostgreSQL;
        _database->migratePlugin(
            "deferred",
            {{1, "0001_deferred",
              std::string("CREATE TABLE parent (id TEXT PRIMARY KEY);\n") +
                  "CREATE TABLE child (pid TEXT REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED" +
                  (postgres ? "" : "") + ");\n"}});
        for (int round = 0; round < 3; ++round)
            CPPUNIT_ASSERT_THROW(
                _database->write(
                    [&](sdk::Transaction& transaction)
                    { transaction.execute("INSERT INTO child(pid) VALUES ($1)", {Value("orphan")}); }),
                sdk::StorageError);
        for (int round = 0; round < 10; ++round) // every pooled connection still works
            _database->write(
                [&](sdk::Transaction& transaction) {
                    transaction.execute("INSERT INTO parent(id) VALUES ($1)",
                                        {Value("p" + std::to_string(round))});
                });
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(10), count("SELECT COUNT(*) FROM parent"));
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(0), count("SELECT COUNT(*) FROM child"));
    }

    void testStatementTimeoutIsUnavailable()
    {
        if (!_testDatabase->postgres())
            return; // SQLite has no statement timeout
        // A slow or overloaded database is not the request's fault: 503, and the next unit succeeds.
        CPPUNIT_ASSERT_THROW(_database->write(
                                 [&](sdk::Transaction& transaction)
                                 {
                                     transaction.execute("SET LOCAL statement_timeout = '20ms'");
                                     transaction.execute("SELECT pg_sleep(1)");
                                 }),
                             sdk::StorageUnavailable);
        CPPUNIT_ASSERT(_database->ping());
    }

    void testDeadIdleConnectionsAreReplacedWithoutAnError()
    {
        if (!_testDatabase->postgres())
            return;
        // The server ends every connection the pool holds (a restart, a failover, a firewall's idle
        // timeout): the next requests find out at BEGIN and take new connections, none fails.
        const std::string name =
            "storage-test-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand());
        host::Database database(_testDatabase->url() + "&application_name=" + name, 4);
        warm(database, 4);
        const Poco::Int64 ended = terminate(name);
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(4), ended);
        for (int i = 0; i < 8; ++i)
            CPPUNIT_ASSERT_NO_THROW(
                database.read([](sdk::Transaction& transaction) { transaction.execute("SELECT 1"); }));
    }

    void testNulInTextIsRefusedOnEveryEngine()
    {
        _database->migratePlugin("notes", tableMigration());
        // PostgreSQL's text holds no NUL, and libpq would cut the value at it: the value checked would
        // not be the value stored. Refused on both engines alike.
        CPPUNIT_ASSERT_THROW(_database->write(
                                 [&](sdk::Transaction& transaction)
                                 {
                                     transaction.execute("INSERT INTO notes(id, body) VALUES ($1, $2)",
                                                         {Value(std::string("a\0b", 3)), Value("x")});
                                 }),
                             sdk::StorageError);
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(0), count("SELECT COUNT(*) FROM notes"));
    }

    void testUnitOfWorkCannotStartAnother()
    {
        // On SQLite it would wait for its own write lock for ever.
        CPPUNIT_ASSERT_THROW(
            _database->write([&](sdk::Transaction&) { _database->write([](sdk::Transaction&) {}); }),
            sdk::StorageError);
        _database->write([](sdk::Transaction& transaction) { transaction.execute("SELECT 1"); });
    }

    void testWriteInsideReadIsAnErrorNotAnOutage()
    {
        if (!_testDatabase->postgres())
            return; // SQLite's read units are not read-only (documented)
        _database->migratePlugin("notes", tableMigration());
        // The caller's bug: an error (500), not a 503 that blames the database, and the connection
        // stays in the pool.
        CPPUNIT_ASSERT_THROW(
            _database->read([](sdk::Transaction& transaction)
                            { transaction.execute("INSERT INTO notes(id, body) VALUES ('a', 'b')"); }),
            sdk::StorageError);
        CPPUNIT_ASSERT(_database->ping());
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(0), count("SELECT COUNT(*) FROM notes"));
    }

    void testPlaceholdersBindByTheirNumber()
    {
        // SQLite numbers "$n" by where it first appears; the storage binds by the digits, as PostgreSQL.
        _database->migratePlugin("notes", tableMigration());
        _database->write(
            [](sdk::Transaction& transaction)
            {
                transaction.execute("INSERT INTO notes(body, id) VALUES ($2, $1)",
                                    {Value("the-id"), Value("the-body")});
            });
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(1),
                             count("SELECT COUNT(*) FROM notes WHERE id = 'the-id' AND body = 'the-body'"));
    }

    void testUnitCannotEndTheSharedTransaction()
    {
        if (_database->dialect() != sdk::Dialect::SQLite)
            return; // on PostgreSQL each unit has a transaction of its own
        // A COMMIT or RELEASE inside a unit would end the transaction other requests' units share.
        for (const char* control : {"COMMIT", "ROLLBACK", "RELEASE unit", "SAVEPOINT mine"})
            CPPUNIT_ASSERT_THROW(
                _database->write([&](sdk::Transaction& transaction) { transaction.execute(control); }),
                sdk::StorageError);
        _database->write([](sdk::Transaction& transaction) { transaction.execute("SELECT 1"); });
    }

    /// `commits` commits of 50 rows of about a page each, into `notes`.
    void writePages(int commits)
    {
        for (int commit = 0; commit < commits; ++commit)
            _database->write(
                [&](sdk::Transaction& transaction)
                {
                    for (int i = 0; i < 50; ++i)
                        transaction.execute("INSERT INTO notes(id, body) VALUES ($1, $2)",
                                            {Value(std::to_string(commit) + "-" + std::to_string(i)),
                                             Value(std::string(4000, 'x'))});
                });
    }

    void testCheckpointsMoveTheWalIntoTheDatabaseFile()
    {
        if (_database->dialect() != sdk::Dialect::SQLite)
            return;
        _database->migratePlugin("notes", tableMigration());
        const std::string file = _testDatabase->url().substr(std::string("sqlite:").size());
        const auto before = Poco::File(file).getSize();
        writePages(50); // about 2,500 pages, past the 1,000 pages of WAL at which a checkpoint is due
        // Checkpoints copy them into the database file (the WAL hook asks the checkpointer thread for them).
        CPPUNIT_ASSERT(test::waitFor([&] { return Poco::File(file).getSize() >= before + 6 * 1024 * 1024; }, 20));
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(2500), count("SELECT COUNT(*) FROM notes"));
    }

    void testWalStartsOverWhileReadersNeverPause()
    {
        if (_database->dialect() != sdk::Dialect::SQLite)
            return;
        _database->migratePlugin("notes", tableMigration());
        // Readers that never pause: SQLite alone would never find a moment to start the WAL over, and
        // would append to it for ever.
        std::atomic<bool> stop{false};
        std::vector<std::thread> readers;
        for (int r = 0; r < 3; ++r)
            readers.emplace_back([&] {
                while (!stop)
                    _database->read([](sdk::Transaction& transaction) { transaction.execute("SELECT COUNT(*) FROM notes"); });
            });
        writePages(240); // about 12,000 pages, three times the 4,000 past which the writer starts the WAL over
        stop = true;
        for (auto& reader : readers)
            reader.join();
        // How many pages the WAL holds now, asked of SQLite on a connection of the test's own.
        sqlite3* raw = nullptr;
        CPPUNIT_ASSERT_EQUAL(SQLITE_OK, ::sqlite3_open(_testDatabase->url().substr(7).c_str(), &raw));
        int walPages = -1;
        CPPUNIT_ASSERT(test::waitFor([&] { // busy (first column 1) while the storage's own checkpoint runs
            sqlite3_stmt* statement = nullptr;
            ::sqlite3_prepare_v2(raw, "PRAGMA wal_checkpoint(PASSIVE)", -1, &statement, nullptr);
            const bool ran = ::sqlite3_step(statement) == SQLITE_ROW && ::sqlite3_column_int(statement, 0) == 0;
            walPages = ::sqlite3_column_int(statement, 1);
            ::sqlite3_finalize(statement);
            return ran;
        }));
        ::sqlite3_close(raw);
        // Started over past 4,000 pages, tried again each 1,000 pages while readers kept it from it: at
        // least once in the 8,000 pages after (readers get 20 ms to leave; a loaded machine can make a try
        // fail, not all of them). Without, the WAL would hold all ~12,000 pages.
        const std::size_t restarts = _database->writeStatistics().walRestarts;
        CPPUNIT_ASSERT_MESSAGE(std::to_string(restarts) + " restarts", restarts >= 1);
        CPPUNIT_ASSERT_MESSAGE(std::to_string(walPages) + " pages in the WAL", walPages >= 0 && walPages < 9000);
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(12000), count("SELECT COUNT(*) FROM notes"));
    }

    void testConcurrentUnitsShareOneCommitOnSqlite()
    {
        if (_database->dialect() != sdk::Dialect::SQLite)
            return; // PostgreSQL's writers run in parallel, a transaction each
        _database->migratePlugin("notes", tableMigration());
        const auto before = _database->writeStatistics();
        // The first unit holds the writer until 15 more are queued behind it: those share the next commit.
        constexpr int followers = 15;
        std::atomic<bool> running{false};
        std::thread first(
            [&]
            {
                _database->write(
                    [&](sdk::Transaction& transaction)
                    {
                        transaction.execute("INSERT INTO notes(id, body) VALUES ('first', 'x')");
                        running = true;
                        while (_database->queuedUnits() < followers)
                            std::this_thread::yield();
                    });
            });
        while (!running) // the first unit is in its own batch before the others queue
            std::this_thread::yield();
        std::vector<std::thread> others;
        for (int i = 0; i < followers; ++i)
            others.emplace_back(
                [&, i]
                {
                    _database->write(
                        [&](sdk::Transaction& transaction) {
                            transaction.execute("INSERT INTO notes(id, body) VALUES ($1, 'x')",
                                                {Value("n" + std::to_string(i))});
                        });
                });
        first.join();
        for (auto& other : others)
            other.join();
        const auto after = _database->writeStatistics();
        CPPUNIT_ASSERT_EQUAL(std::size_t(followers + 1), after.units - before.units);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), after.commits - before.commits);
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(followers + 1), count("SELECT COUNT(*) FROM notes"));
    }

    void testOneUnitsFailureNeverFailsItsNeighbours()
    {
        // Units that fail in every way, mixed with units that must commit, from many threads at once (on
        // SQLite in shared batches): a refused unit (ApiError), a duplicate key, and one whose constraint
        // fails only at COMMIT, which fails its whole batch and has the others run again alone.
        _database->migratePlugin("mixed",
                                 {{1, "0001_mixed",
                                   "CREATE TABLE parent (id TEXT PRIMARY KEY);\n"
                                   "CREATE TABLE child (pid TEXT REFERENCES parent(id) DEFERRABLE INITIALLY "
                                   "DEFERRED);\nCREATE TABLE done (id TEXT PRIMARY KEY);\n"}});
        _database->write([](sdk::Transaction& transaction)
                         { transaction.execute("INSERT INTO done VALUES ('taken')"); });
        constexpr int threads = 8, rounds = 25;
        std::atomic<int> committed{0}, refused{0}, conflicts{0}, deferred{0}, unexpected{0};
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t)
            workers.emplace_back(
                [&, t]
                {
                    for (int r = 0; r < rounds; ++r)
                    {
                        const int kind = (t * rounds + r) % 5;
                        try
                        {
                            _database->write(
                                [&](sdk::Transaction& transaction)
                                {
                                    const std::string id = std::to_string(t) + "-" + std::to_string(r);
                                    if (kind == 1)
                                    {
                                        transaction.execute("INSERT INTO done VALUES ($1)",
                                                            {Value("refused-" + id)});
                                        throw sdk::ApiError::resourceExhausted(1);
                                    }
                                    if (kind == 2)
                                        transaction.execute("INSERT INTO done VALUES ('taken')");
                                    else if (kind == 3)
                                        transaction.execute("INSERT INTO child VALUES ($1)",
                                                            {Value("orphan-" + id)});
                                    else
                                        transaction.execute("INSERT INTO done VALUES ($1)", {Value(id)});
                                });
                            kind == 3 ? ++unexpected : ++committed;
                        }
                        catch (const sdk::ApiError&)
                        {
                            kind == 1 ? ++refused : ++unexpected;
                        }
                        catch (const sdk::StorageConflict&)
                        {
                            kind == 2 ? ++conflicts : ++unexpected;
                        }
                        catch (const sdk::StorageError&)
                        {
                            kind == 3 ? ++deferred : ++unexpected;
                        }
                    }
                });
        for (auto& worker : workers)
            worker.join();
        constexpr int each = threads * rounds / 5;
        CPPUNIT_ASSERT_EQUAL(0, unexpected.load());
        CPPUNIT_ASSERT_EQUAL(2 * each, committed.load());
        CPPUNIT_ASSERT_EQUAL(each, refused.load());
        CPPUNIT_ASSERT_EQUAL(each, conflicts.load());
        CPPUNIT_ASSERT_EQUAL(each, deferred.load());
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(2 * each + 1), count("SELECT COUNT(*) FROM done"));
        CPPUNIT_ASSERT_EQUAL(Poco::Int64(0), count("SELECT COUNT(*) FROM child"));
    }

    void testBooleansAreIntegersOnEveryEngine()
    {
        _database->read(
            [](sdk::Transaction& transaction)
            {
                const sdk::Result result = transaction.execute("SELECT 1 = 1, 1 = 2, $1 = 'x'", {Value("x")});
                CPPUNIT_ASSERT_EQUAL(Poco::Int64(1), result.front().integer(0));
                CPPUNIT_ASSERT_EQUAL(Poco::Int64(0), result.front().integer(1));
                CPPUNIT_ASSERT_EQUAL(Poco::Int64(1), result.front().integer(2));
            });
    }

    void testSymlinkedMigrationIsRefusedAndLineEndsDoNotCount()
    {
        const std::string folder = _folder + "/migrations";
        Poco::File(folder).createDirectories();
        {
            Poco::FileOutputStream out(folder + "/0001_notes.sql");
            out << "CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT);\n";
        }
        _database->migratePlugin("notes", host::readMigrations(folder));
        {
            Poco::FileOutputStream out(folder + "/0001_notes.sql"); // the same, checked out with CRLF
            out << "CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT);\r\n";
        }
        CPPUNIT_ASSERT_EQUAL(0, _database->migratePlugin("notes", host::readMigrations(folder)));
        Poco::File(folder + "/0001_notes.sql").copyTo(_folder + "/elsewhere.sql");
        CPPUNIT_ASSERT_EQUAL(
            0, ::symlink((_folder + "/elsewhere.sql").c_str(), (folder + "/0002_link.sql").c_str()));
        CPPUNIT_ASSERT_THROW(host::readMigrations(folder), Poco::DataException);
    }

private:
    static void warm(host::Database& database, int connections)
    {
        // Hold `connections` at once, so the pool opens that many.
        std::mutex mutex;
        std::condition_variable changed;
        int holding = 0;
        std::vector<std::thread> threads;
        for (int i = 0; i < connections; ++i)
            threads.emplace_back(
                [&]
                {
                    database.read(
                        [&](sdk::Transaction& transaction)
                        {
                            transaction.execute("SELECT 1");
                            std::unique_lock<std::mutex> lock(mutex);
                            ++holding;
                            changed.notify_all();
                            changed.wait(lock, [&] { return holding == connections; });
                        });
                });
        for (auto& thread : threads)
            thread.join();
    }

    Poco::Int64 terminate(const std::string& applicationName)
    {
        Poco::Int64 ended = 0;
        _database->read(
            [&](sdk::Transaction& transaction)
            {
                ended = static_cast<Poco::Int64>(
                    transaction
                        .execute("SELECT pid FROM pg_stat_activity WHERE application_name = $1",
                                 {Value(applicationName)})
                        .rows.size());
            });
        _database->write(
            [&](sdk::Transaction& transaction)
            {
                transaction.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                    {Value(applicationName)});
            });
        return ended;
    }

    Poco::Int64 count(const std::string& sql)
    {
        Poco::Int64 value = -1;
        _database->read([&](sdk::Transaction& transaction)
                        { value = transaction.execute(sql).front().integer(0); });
        return value;
    }

    std::string _folder;
    std::unique_ptr<test::TestDatabase> _testDatabase;
    std::unique_ptr<host::Database> _database;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(StorageTest, "StorageTest");

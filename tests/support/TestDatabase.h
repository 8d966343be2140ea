#pragma once

#include <string>

namespace identity::test
{

/// The database a test runs against. SQLite, a file in the test's folder, by default. When the
/// environment names a running PostgreSQL (IDENTITY_TEST_POSTGRES_STATE, the state file that
/// tests/support/pgserver.py writes; CTest starts one for the `_postgresql` runs of the suites), a
/// schema of its own in that server's `identity_test` database, dropped again at the end, so suites and
/// fixtures never see each other's rows.
class TestDatabase
{
public:
    explicit TestDatabase(const std::string& folder);
    ~TestDatabase();

    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;

    /// The `storage.url` to configure.
    const std::string& url() const { return _url; }
    bool postgres() const { return !_schema.empty(); }

    /// True when the tests run on PostgreSQL.
    static bool postgresConfigured();

    /// The server's base URL (`postgresql://user:password@127.0.0.1:port`), empty when none is configured.
    static std::string postgresBase();

private:
    std::string _url;
    std::string _schema;
};

} // namespace identity::test

#pragma once

#include "storage/Connection.h"
#include "storage/Migrations.h"

#include "identity/sdk/Storage.h"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace identity::host
{

/// The host's database, chosen by `storage.url`: SQLite (`sqlite:PATH`, the default, a file under var/) or
/// PostgreSQL (`postgresql://user:password@host:port/database`, for several instances).
///
/// It owns a pool of connections sized to the HTTP threads and the background workers. A request waits
/// for a free connection for at most `acquireTimeout`, then answers 503 instead of queueing without end.
/// A connection that broke (the database restarted) is dropped and a new one opened on next use, so the
/// host recovers by itself once the database is back.
class Database : public sdk::Storage
{
public:
    Database(const std::string& url, std::size_t poolSize,
             std::chrono::milliseconds acquireTimeout = std::chrono::seconds(5));
    ~Database() override;

    sdk::Dialect dialect() const override { return _dialect; }
    void read(const Work& work) override;
    void write(const Work& work) override;

    /// Applies the host's migrations (`schema/<dialect>/`, compiled in). Returns how many it applied.
    int migrate();

    /// Applies a plugin's migrations, recorded under its name apart from the host's. Safe when several
    /// instances start at once: on PostgreSQL they take turns under an advisory lock, on SQLite under the
    /// write lock. A migration already applied whose text changed since is refused (edit a migration
    /// that shipped, and instances would disagree on the schema): throws Poco::DataException naming it.
    int migratePlugin(const std::string& plugin, const std::vector<Migration>& migrations);

    /// The highest applied host migration version.
    int version();

    /// The applied versions of a plugin's migrations.
    std::vector<int> pluginVersions(const std::string& plugin);

    /// True when a connection answers `SELECT 1` (for /readyz).
    bool ping() noexcept;

    /// `storage.url` without its password, for logs.
    const std::string& displayUrl() const { return _displayUrl; }

    /// Turns a `postgresql://` URL (libpq's URI form) into the `key=value` form Poco's connector takes.
    /// Throws Poco::InvalidArgumentException for a URL it cannot represent (a value with a space).
    static std::string postgresConnectionString(const std::string& url);

private:
    class Lease;
    std::unique_ptr<Connection> acquire(bool& fresh);
    void release(std::unique_ptr<Connection> connection);
    void run(const Work& work, bool write);
    int apply(const std::string& owner, const std::vector<Migration>& migrations, bool recordChecksums);

    sdk::Dialect _dialect;
    std::string _connector;
    std::string _connectionString;
    std::string _displayUrl;
    std::size_t _poolSize;
    std::chrono::milliseconds _acquireTimeout;

    std::mutex _poolMutex;
    std::condition_variable _poolChanged;
    std::vector<std::unique_ptr<Connection>> _idle;
    std::size_t _open = 0; // connections in use or idle

    /// SQLite has one writer at a time: waiting for it here wakes at once, where SQLite's busy handler
    /// sleeps in steps of up to 100 ms.
    std::mutex _writeMutex;
};

} // namespace identity::host

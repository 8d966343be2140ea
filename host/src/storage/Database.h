#pragma once

#include "storage/Connection.h"
#include "storage/Migrations.h"

#include "identity/sdk/Storage.h"

#include <chrono>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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

    /// Whether the migrations' bookkeeping tables exist (false: a database nothing was applied to).
    bool hasMigrationTables();

    /// The applied versions of a plugin's migrations.
    std::vector<int> pluginVersions(const std::string& plugin);

    /// Units of work committed, and the transactions they took: on SQLite, group commit puts the units
    /// of concurrent requests into one transaction (and one sync).
    struct WriteStatistics
    {
        std::size_t units = 0;
        std::size_t commits = 0;
        std::size_t walRestarts = 0; ///< times the writer started the WAL over (SQLite)
    };
    WriteStatistics writeStatistics() const;

    /// Units waiting for the SQLite writer (for tests and metrics).
    std::size_t queuedUnits() const;

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

    /// SQLite has one writer at a time: the writer thread's batches and migrations take turns here.
    std::mutex _writeMutex;

    // SQLite's group commit: units queue here, one writer thread commits up to maxBatch at a time.
    struct PendingUnit;
    void writerLoop();
    /// Returns the transactions it took.
    std::size_t commitTogether(const std::vector<PendingUnit*>& batch);
    /// One transaction for the batch; false when it failed as a whole (then only a single unit's error
    /// is recorded).
    bool commitOnce(const std::vector<PendingUnit*>& batch, bool& begun);
    static constexpr std::size_t maxBatch = 64;
    mutable std::mutex _queueMutex;
    WriteStatistics _statistics; // under _queueMutex
    std::condition_variable _queueChanged;
    std::deque<PendingUnit*> _queue;
    bool _stopping = false;
    std::unique_ptr<Connection> _writerConnection; // the writer thread's own
    std::thread _writer;

    // SQLite's checkpoints, on a thread and connection of their own: copying the WAL into the database
    // file (and syncing it) no longer holds up the writer's next batch.
    void checkpointLoop();
    static constexpr int checkpointPages = 1000; // SQLite's own threshold
    std::condition_variable _checkpointWanted;   // under _queueMutex
    bool _checkpointDue = false;
    std::atomic<int> _checkpointedPages{0}; // of the WAL, from its start, as the last checkpoint left it
    int _walRestarts = 0;                   // under _queueMutex: which WAL _checkpointedPages is about
    bool _checkpointing = false;            // under _queueMutex: the checkpointer is in a checkpoint
    bool _restartWanted = false;            // under _queueMutex: the writer restarts the WAL; no checkpoint now
    std::condition_variable _checkpointIdle;
    /// The writer thread's: the WAL's pages after its last commit. Past restartPages (16 MiB) the writer
    /// starts the WAL over between batches, copying what the checkpointer has not; when readers keep it
    /// from doing so, it tries again 1,000 pages later.
    int _walPages = 0;
    static constexpr int restartPages = 4000;
    int _restartAt = restartPages;
    /// How long the next restart waits for readers: 20 ms, doubled after each try readers refused, up
    /// to 320 ms (on a loaded machine a reader that lost its CPU holds its snapshot longer than 20 ms;
    /// a WAL already 8,000 pages long is worth a longer pause of the writes), back to 20 ms once it works.
    static constexpr int restartWaitMillis = 20;
    static constexpr int maximumRestartWaitMillis = 320;
    int _restartWait = restartWaitMillis;
    void restartWalIfLong();
    std::thread _checkpointer;
};

} // namespace identity::host

#pragma once

#include "identity/sdk/Storage.h"

#include <Poco/Data/SessionPool.h>

#include <memory>
#include <string>

namespace identity::host
{

/// The host's database: a pool of sessions over SQLite (the default, a file under var/) or, later,
/// PostgreSQL, chosen by `storage.url`. Applies the schema's migrations at start.
class Database : public sdk::Storage
{
public:
    /// `url` is `sqlite:PATH` (relative to the working directory) or `sqlite::memory:` is refused;
    /// `poolSize` must cover the HTTP threads plus background workers: Poco's pool does not wait.
    Database(const std::string& url, std::size_t poolSize);
    ~Database() override;

    Poco::Data::Session session() override;
    Dialect dialect() const override { return _dialect; }
    std::unique_lock<std::mutex> writeLock() override;

    /// Applies every migration newer than the database's version, each in its own transaction, and
    /// returns how many it applied.
    int migrate();

    /// The highest applied migration version.
    int version();

    /// True when a pooled session answers `SELECT 1` (for /readyz).
    bool ping() noexcept;

private:
    Dialect _dialect;
    std::unique_ptr<Poco::Data::SessionPool> _pool;
    std::mutex _writeMutex;
};

} // namespace identity::host

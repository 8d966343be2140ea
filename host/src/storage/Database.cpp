#include "storage/Database.h"

#include "storage/Migrations.h"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Logger.h>
#include <Poco/Path.h>
#include <Poco/String.h>
#include <Poco/StringTokenizer.h>

#include <fcntl.h>
#include <unistd.h>

namespace identity::host
{

using namespace Poco::Data::Keywords;

Database::Database(const std::string& url, std::size_t poolSize) : _dialect(Dialect::SQLite)
{
    if (url.rfind("sqlite:", 0) != 0)
        throw Poco::InvalidArgumentException("storage.url: only sqlite:PATH is supported by this build", url);
    const std::string path = url.substr(7);
    if (path.empty() || path == ":memory:")
        throw Poco::InvalidArgumentException("storage.url: SQLite needs a file path (pooled sessions share it)");
    Poco::Path parent = Poco::Path(path).parent();
    if (!parent.toString().empty())
        Poco::File(parent).createDirectories();
    // The database holds password hashes: readable by the owner only (SQLite gives its -wal and -shm
    // files the same mode).
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0600);
    if (fd < 0)
        throw Poco::FileException("cannot create the database file", path);
    ::close(fd);

    Poco::Data::SQLite::Connector::registerConnector();
    _pool = std::make_unique<Poco::Data::SessionPool>("SQLite", path, 1, poolSize, 60);
    // Wait up to 10 s for another writer instead of failing with "database is locked" at once.
    _pool->setProperty("connectionTimeout", Poco::Any(std::size_t(10)));

    Poco::Data::Session s = session();
    std::string mode;
    s << "PRAGMA journal_mode=WAL", into(mode), now;
}

Database::~Database()
{
    if (_pool)
        _pool->shutdown();
}

std::unique_lock<std::mutex> Database::writeLock()
{
    if (_dialect == Dialect::SQLite)
        return std::unique_lock<std::mutex>(_writeMutex);
    return {};
}

Poco::Data::Session Database::session()
{
    Poco::Data::Session session = _pool->get();
    if (_dialect == Dialect::SQLite)
    {
        // A per-connection setting, off by default: without it ON DELETE CASCADE does nothing.
        session << "PRAGMA foreign_keys = ON", now;
    }
    return session;
}

bool Database::ping() noexcept
{
    try
    {
        Poco::Data::Session s = session();
        int one = 0;
        s << "SELECT 1", Poco::Data::Keywords::into(one), Poco::Data::Keywords::now;
        return one == 1;
    }
    catch (...)
    {
        return false;
    }
}

int Database::version()
{
    Poco::Data::Session s = session();
    s << "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
         "applied_at INTEGER NOT NULL)",
        now;
    Poco::Nullable<int> current;
    s << "SELECT MAX(version) FROM schema_migrations", into(current), now;
    return current.isNull() ? 0 : current.value();
}

int Database::migrate()
{
    auto& logger = Poco::Logger::get("identity.storage");
    int applied = 0;
    const int current = version();
    const auto& migrations = sqliteMigrations();
    for (const Migration& migration : migrations)
    {
        if (migration.version <= current)
            continue;
        logger.information("applying migration %d/%d: %s", migration.version,
                           static_cast<int>(migrations.size()), migration.name);
        Poco::Data::Session s = session();
        sdk::WriteTransaction transaction(*this, s);
        // Poco's SQLite statements run one SQL statement each: split the script on ';' at line ends.
        std::string statement;
        Poco::StringTokenizer lines(migration.sql, "\n");
        for (const std::string& line : lines)
        {
            const std::string trimmed = Poco::trim(line);
            if (trimmed.empty() || trimmed.rfind("--", 0) == 0)
                continue;
            statement += line + "\n";
            if (!trimmed.empty() && trimmed.back() == ';')
            {
                s << statement, now;
                statement.clear();
            }
        }
        if (!Poco::trim(statement).empty())
            s << statement, now;
        Poco::Int64 at = static_cast<Poco::Int64>(time(nullptr));
        int version = migration.version;
        std::string name = migration.name;
        s << "INSERT INTO schema_migrations(version, name, applied_at) VALUES ($1, $2, $3)", use(version),
            use(name), use(at), now;
        transaction.commit();
        ++applied;
    }
    return applied;
}

} // namespace identity::host

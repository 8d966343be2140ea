#include "storage/Migrations.h"

#include <Poco/DirectoryIterator.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/RegularExpression.h>

#include <algorithm>
#include <cerrno>

#include <fcntl.h>
#include <unistd.h>

namespace identity::host
{

namespace
{
constexpr Poco::File::FileSize maxMigrationBytes = 1024 * 1024;
} // namespace

std::vector<Migration> readMigrations(const std::string& folder)
{
    Poco::File directory(folder);
    if (!directory.exists() || !directory.isDirectory())
        throw Poco::DataException("no migrations folder at " + folder);
    static const Poco::RegularExpression pattern("^([0-9]{1,9})_[A-Za-z0-9_]+\\.sql$");
    std::vector<Migration> migrations;
    for (Poco::DirectoryIterator it(directory), end; it != end; ++it)
    {
        const std::string file = it.name();
        if (file.size() < 4 || file.compare(file.size() - 4, 4, ".sql") != 0)
            continue; // a README beside them is fine
        std::vector<std::string> match;
        if (pattern.split(file, match) != 2)
            throw Poco::DataException("migration file " + it->path() + " is not named NNNN_name.sql");
        // Checked without following links: a plugin's schema is the files it ships, not what they point to.
        if (it->isLink() || !it->isFile())
            throw Poco::DataException("migration " + it->path() + " is not a regular file");
        if (it->getSize() > maxMigrationBytes)
            throw Poco::DataException("migration " + it->path() + " is larger than 1 MiB");
        // Opened without following a link (one may have replaced the file since the check), read at
        // most one byte past the limit.
        const int fd = ::open(it->path().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            throw Poco::DataException("cannot open migration " + it->path());
        std::string sql(maxMigrationBytes + 1, '\0');
        std::size_t length = 0;
        for (ssize_t got; length < sql.size() && (got = ::read(fd, &sql[length], sql.size() - length)) != 0;)
        {
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0)
            {
                ::close(fd);
                throw Poco::DataException("cannot read migration " + it->path());
            }
            length += static_cast<std::size_t>(got);
        }
        ::close(fd);
        if (length > maxMigrationBytes)
            throw Poco::DataException("migration " + it->path() + " is larger than 1 MiB");
        sql.resize(length);
        migrations.push_back({std::stoi(match[1]), file.substr(0, file.size() - 4), sql});
    }
    std::sort(migrations.begin(), migrations.end(),
              [](const Migration& a, const Migration& b) { return a.version < b.version; });
    for (std::size_t i = 1; i < migrations.size(); ++i)
        if (migrations[i].version == migrations[i - 1].version)
            throw Poco::DataException("migrations " + migrations[i - 1].name + " and " + migrations[i].name +
                                      " in " + folder + " share one version");
    return migrations;
}

} // namespace identity::host

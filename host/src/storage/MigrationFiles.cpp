#include "storage/Migrations.h"

#include <Poco/DirectoryIterator.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/RegularExpression.h>
#include <Poco/StreamCopier.h>

#include <algorithm>

namespace identity::host
{

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
        if (!it->isFile())
            throw Poco::DataException("migration " + it->path() + " is not a regular file");
        Poco::FileInputStream in(it->path());
        std::string sql;
        Poco::StreamCopier::copyToString(in, sql);
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

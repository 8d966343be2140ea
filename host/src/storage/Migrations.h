#pragma once

#include "identity/sdk/Storage.h"

#include <string>
#include <vector>

namespace identity::host
{

/// One versioned SQL script: `NNNN_name.sql`.
struct Migration
{
    int version;
    std::string name;
    std::string sql;
};

/// The host's migrations under schema/<dialect>/, compiled into the binary at build time (so an installed
/// host needs no schema folder), in version order.
const std::vector<Migration>& hostMigrations(sdk::Dialect dialect);

/// Reads a plugin's migrations from a folder of `NNNN_name.sql` files, in version order. Throws
/// Poco::DataException for a file that does not follow the pattern, two files with one version, or
/// a folder that does not exist.
std::vector<Migration> readMigrations(const std::string& folder);

} // namespace identity::host

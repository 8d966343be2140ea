#pragma once

#include <string>
#include <vector>

namespace identity::host
{

struct Migration
{
    int version;
    std::string name;
    std::string sql;
};

/// The migrations under schema/<dialect>/, compiled into the binary at build time (so an installed
/// host needs no schema folder), in version order.
const std::vector<Migration>& sqliteMigrations();

} // namespace identity::host

#pragma once

#include <Poco/JSON/Array.h>
#include <Poco/Util/AbstractConfiguration.h>

#include <iosfwd>
#include <string>
#include <vector>

namespace identity::host
{

/// The operator's commands beside `serve` and `user create`, on the same configuration: each opens the
/// database itself (no plugin is loaded, nothing is served) and writes its answer to `out`, as JSON
/// (`--format=json`, the default: one document, for scripts) or as a plain table (`--format=table`).
/// Email addresses and phone numbers are shown masked.
class AdminCommands
{
public:
    AdminCommands(const Poco::Util::AbstractConfiguration& config, std::string format, std::ostream& out,
                  std::ostream& progress);

    /// `user list`: every user (id, username, masked email and phone, locale, status, created_at).
    int userList();

    /// `user disable --username=… | --id=…`: status `disabled` (sign-in refused) and every session of
    /// the user ended, in one unit of work; access tokens stop working within a second everywhere.
    int userDisable(const std::string& id, const std::string& username);

    /// `migrate status`: the host's migrations and each configured plugin's, applied or pending.
    int migrateStatus();

    /// `migrate up`: applies what is pending, with a progress line per migration on `progress`.
    int migrateUp();

    /// Prints rows as one JSON document, or as a table of `columns` (one line per row, control
    /// characters shown as '?').
    void print(const Poco::JSON::Array::Ptr& rows, const std::vector<std::string>& columns);

    static constexpr int exitNoUser = 67; // EX_NOUSER

private:
    struct Owner
    {
        std::string name; ///< "host", or the plugin's name
        std::vector<std::pair<int, std::string>> migrations; ///< version, name
        std::string folder; ///< where a plugin's migrations are read from
    };
    std::vector<Owner> owners(bool postgres) const;

    const Poco::Util::AbstractConfiguration& _config;
    std::string _format;
    std::ostream& _out;
    std::ostream& _progress;
};

} // namespace identity::host

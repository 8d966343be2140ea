#include "app/AdminCommands.h"

#include "app/HostSettings.h"
#include "plugins/PluginManifest.h"
#include "storage/Database.h"
#include "storage/Migrations.h"

#include "identity/sdk/AuditLog.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Object.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <memory>
#include <ostream>
#include <set>

namespace identity::host
{

using sdk::Value;

namespace
{
constexpr int exitOk = 0;

std::string isoTime(Poco::Int64 seconds)
{
    return Poco::DateTimeFormatter::format(Poco::Timestamp::fromEpochTime(static_cast<std::time_t>(seconds)),
                                           Poco::DateTimeFormat::ISO8601_FORMAT);
}

std::string text(const Poco::JSON::Object& row, const std::string& column)
{
    if (!row.has(column) || row.isNull(column))
        return "";
    // A cell is one line of plain text: control characters (an SMTP server's reply in an error, a
    // terminal's escape sequence in a stored value) are shown as '?'.
    std::string value = row.get(column).convert<std::string>();
    for (std::size_t i = 0; i < value.size(); ++i)
    {
        const auto c = static_cast<unsigned char>(value[i]);
        if (c < 0x20 || c == 0x7f)
            value[i] = '?';
        // U+0080 to U+009F (C1, CSI among them), as UTF-8: 0xC2 then 0x80..0x9F.
        else if (c == 0xc2 && i + 1 < value.size() && static_cast<unsigned char>(value[i + 1]) >= 0x80 &&
                 static_cast<unsigned char>(value[i + 1]) <= 0x9f)
            value.replace(i, 2, "?");
    }
    return value;
}

/// The configuration's database, its pool just big enough for one command.
std::unique_ptr<Database> open(const Poco::Util::AbstractConfiguration& config)
{
    return std::make_unique<Database>(HostSettings::read(config).storageUrl, 2);
}
} // namespace

AdminCommands::AdminCommands(const Poco::Util::AbstractConfiguration& config, std::string format,
                             std::ostream& out, std::ostream& progress)
    : _config(config), _format(std::move(format)), _out(out), _progress(progress)
{
    if (_format.empty())
        _format = "json";
    if (_format != "json" && _format != "table")
        throw Poco::InvalidArgumentException("--format must be json or table");
}

void AdminCommands::print(const Poco::JSON::Array::Ptr& rows, const std::vector<std::string>& columns)
{
    if (_format == "json")
    {
        rows->stringify(_out);
        _out << std::endl;
        return;
    }
    std::vector<std::size_t> widths;
    for (const std::string& column : columns)
        widths.push_back(column.size());
    for (std::size_t r = 0; r < rows->size(); ++r)
        for (std::size_t c = 0; c < columns.size(); ++c)
            widths[c] = std::max(widths[c], text(*rows->getObject(static_cast<unsigned>(r)), columns[c]).size());
    auto line = [&](const std::vector<std::string>& cells) {
        for (std::size_t c = 0; c < cells.size(); ++c)
            _out << cells[c] << (c + 1 < cells.size() ? std::string(widths[c] - cells[c].size() + 2, ' ') : "");
        _out << '\n';
    };
    std::vector<std::string> header;
    for (const std::string& column : columns)
        header.push_back(Poco::toUpper(column));
    line(header);
    for (std::size_t r = 0; r < rows->size(); ++r)
    {
        std::vector<std::string> cells;
        for (const std::string& column : columns)
            cells.push_back(text(*rows->getObject(static_cast<unsigned>(r)), column));
        line(cells);
    }
    _out.flush();
}

int AdminCommands::userList()
{
    const std::unique_ptr<Database> opened = open(_config);
    Database& database = *opened;
    database.migrate();
    Poco::JSON::Array::Ptr rows = new Poco::JSON::Array;
    database.read([&](sdk::Transaction& transaction) {
        const sdk::Result result = transaction.execute(
            "SELECT id, username, email, phone_number, locale, status, created_at FROM users ORDER BY created_at, id");
        for (const sdk::Row& row : result.rows)
        {
            Poco::JSON::Object::Ptr user = new Poco::JSON::Object;
            user->set("id", row.text(0));
            user->set("username", row.text(1));
            user->set("email", row.text(2).empty() ? std::string() : sdk::AuditLog::mask(row.text(2)));
            user->set("phone_number", row.text(3).empty() ? std::string() : sdk::AuditLog::mask(row.text(3)));
            user->set("locale", row.text(4));
            user->set("status", row.text(5));
            user->set("created_at", isoTime(row.integer(6)));
            rows->add(user);
        }
    });
    print(rows, {"id", "username", "email", "phone_number", "locale", "status", "created_at"});
    return exitOk;
}

int AdminCommands::userDisable(const std::string& id, const std::string& username)
{
    if (id.empty() == username.empty())
        throw Poco::InvalidArgumentException("user disable needs exactly one of --id and --username");
    const std::unique_ptr<Database> opened = open(_config);
    Database& database = *opened;
    database.migrate();
    std::string userId;
    std::size_t sessions = 0;
    const Poco::Int64 now = Poco::Timestamp().epochTime();
    database.write([&](sdk::Transaction& transaction) {
        const sdk::Result found =
            id.empty() ? transaction.execute("SELECT id FROM users WHERE username = $1", {Value(username)})
                       : transaction.execute("SELECT id FROM users WHERE id = $1", {Value(id)});
        userId = found.empty() ? std::string() : found.front().text(0);
        if (userId.empty())
            return;
        transaction.lock(sdk::userLockKey(userId));
        transaction.execute("UPDATE users SET status = 'disabled', updated_at = $1 WHERE id = $2",
                            {Value(now), Value(userId)});
        sessions = transaction
                       .execute("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                                {Value(now), Value(userId)})
                       .affected;
    });
    if (userId.empty())
    {
        _progress << "identity-host: no such user" << std::endl;
        return exitNoUser;
    }
    Poco::JSON::Array::Ptr rows = new Poco::JSON::Array;
    Poco::JSON::Object::Ptr row = new Poco::JSON::Object;
    row->set("id", userId);
    row->set("status", "disabled");
    row->set("sessions_ended", sessions);
    rows->add(row);
    if (_format == "json")
    {
        row->stringify(_out);
        _out << std::endl;
    }
    else
        print(rows, {"id", "status", "sessions_ended"});
    return exitOk;
}

std::vector<AdminCommands::Owner> AdminCommands::owners(bool postgres) const
{
    std::vector<Owner> result;
    Owner host;
    host.name = "host";
    for (const Migration& migration : hostMigrations(postgres ? sdk::Dialect::PostgreSQL : sdk::Dialect::SQLite))
        host.migrations.emplace_back(migration.version, migration.name);
    result.push_back(host);
    Poco::Util::AbstractConfiguration::Keys plugins;
    _config.keys("plugins", plugins);
    std::sort(plugins.begin(), plugins.end());
    for (const std::string& name : plugins)
    {
        if (!_config.getBool("plugins." + name + ".enabled", true) || !_config.has("plugins." + name + ".manifest"))
            continue;
        const PluginManifest manifest = PluginManifest::load(_config.getString("plugins." + name + ".manifest"));
        const auto folder = manifest.migrationFolders.find(postgres ? "postgresql" : "sqlite");
        if (folder == manifest.migrationFolders.end())
            continue; // keeps no tables
        Owner plugin;
        plugin.name = manifest.name;
        plugin.folder = folder->second;
        for (const Migration& migration : readMigrations(folder->second))
            plugin.migrations.emplace_back(migration.version, migration.name);
        result.push_back(plugin);
    }
    return result;
}

int AdminCommands::migrateStatus()
{
    const std::unique_ptr<Database> opened = open(_config);
    Database& database = *opened;
    const bool postgres = database.dialect() == sdk::Dialect::PostgreSQL;
    Poco::JSON::Array::Ptr rows = new Poco::JSON::Array;
    const bool bookkept = database.hasMigrationTables();
    for (const Owner& owner : owners(postgres))
    {
        std::set<int> applied;
        if (bookkept && owner.name == "host")
        {
            const int highest = database.version();
            for (const auto& migration : owner.migrations)
                if (migration.first <= highest)
                    applied.insert(migration.first);
        }
        else if (bookkept)
            for (int version : database.pluginVersions(owner.name))
                applied.insert(version);
        for (const auto& [version, name] : owner.migrations)
        {
            Poco::JSON::Object::Ptr row = new Poco::JSON::Object;
            row->set("owner", owner.name);
            row->set("version", version);
            row->set("name", name);
            row->set("state", applied.count(version) ? "applied" : "pending");
            rows->add(row);
        }
    }
    print(rows, {"owner", "version", "name", "state"});
    return exitOk;
}

int AdminCommands::migrateUp()
{
    const std::unique_ptr<Database> opened = open(_config);
    Database& database = *opened;
    const bool postgres = database.dialect() == sdk::Dialect::PostgreSQL;
    const std::vector<Owner> all = owners(postgres);
    std::size_t total = 0;
    for (const Owner& owner : all)
        total += owner.migrations.size();
    // One line per owner as it goes (a migration can take long: an index on a big table).
    std::size_t done = 0;
    Poco::JSON::Array::Ptr rows = new Poco::JSON::Array;
    for (const Owner& owner : all)
    {
        _progress << "migrating " << owner.name << "…" << std::endl;
        const int applied = owner.name == "host" ? database.migrate()
                                                 : database.migratePlugin(owner.name, readMigrations(owner.folder));
        done += owner.migrations.size();
        _progress << "[" << done << "/" << total << "] " << owner.name << ": " << applied << " applied" << std::endl;
        Poco::JSON::Object::Ptr row = new Poco::JSON::Object;
        row->set("owner", owner.name);
        row->set("applied", applied);
        rows->add(row);
    }
    print(rows, {"owner", "applied"});
    return exitOk;
}

} // namespace identity::host

#pragma once

#include "app/HostAuditLog.h"
#include "app/HostSettings.h"
#include "app/MetricsRegistry.h"
#include "app/OperationsEndpoints.h"
#include "app/SecretStore.h"
#include "auth/AuthEndpoints.h"
#include "auth/Authenticator.h"
#include "auth/PasswordHasher.h"
#include "auth/PasswordSchemes.h"
#include "auth/SessionStore.h"
#include "auth/TokenService.h"
#include "auth/UserStore.h"
#include "http/ConnectionFront.h"
#include "http/Dispatcher.h"
#include "http/MessageCatalog.h"
#include "http/RequestPipeline.h"
#include "plugins/PluginManager.h"
#include "plugins/ServiceRegistry.h"
#include "storage/Database.h"
#include "support/FileWatcher.h"
#include "support/SystemRandom.h"

#include <Poco/Util/AbstractConfiguration.h>

#include <condition_variable>
#include <memory>
#include <thread>

namespace identity::host
{

/// The identity host without its process shell: configuration in, a serving HTTP server out. The
/// command line (HostApplication) and the integration tests both build one of these.
class IdentityServer
{
public:
    /// Reads the configuration into HostSettings (throws Poco::Exception on a bad one), resolves
    /// secrets, opens the database and applies migrations. Nothing listens yet.
    /// `serving` false: for an operator's command, whose plugins start no background work.
    IdentityServer(Poco::Util::AbstractConfiguration& config, const sdk::Clock& clock, bool serving = true);
    ~IdentityServer();

    /// Loads the enabled plugins and starts serving. In development mode (`development.enabled`) it
    /// also watches each plugin's library and reloads a plugin when a new build lands.
    void start();

    /// Takes a new configuration (already validated) without a restart: the token keys read anew
    /// (`tokens.algorithm`, `tokens.secret`, `tokens.keys` and the key files), plugins enabled, disabled
    /// or restarted as new generations where their configuration changed. Throws, changing nothing,
    /// when the token keys cannot be used. Returns the changed keys that only take effect after a
    /// restart (`server.port`, `storage.url`, …), which it also logs.
    std::vector<std::string> reconfigure(Poco::AutoPtr<Poco::Util::AbstractConfiguration> config);

    /// Stops accepting, lets requests in flight finish, then stops the plugins.
    void stop();

    /// Adds a route compiled into the host binary (an embedding application's own), served beside the
    /// host's; call it before start(). Throws Poco::ExistsException at start when the route is taken.
    void addHostRoute(sdk::Route route);

    /// The bound port (useful with `server.port: 0`).
    Poco::UInt16 port() const;

    /// Creates a user (the `user create` command).
    std::string createUser(const User& user, const std::string& password);

    /// Loads the enabled plugins without serving anything, for an operator's command (`user delete`,
    /// a plugin's AdminCommand); throws Poco::IOException naming a plugin that failed to start.
    /// stop(), or the destructor, unloads them.
    void loadPlugins();

    /// Deletes a user as `DELETE /auth/v1/user/me` does, plugin data and notice included (the plugins
    /// must be loaded); false when there is no such user.
    bool deleteUser(const std::string& id);

    /// The id of the user with this username, "" when there is none.
    std::string userIdOf(const std::string& username);

    /// The operators' commands the loaded plugins add (AdminCommand), by their words ("outbox list").
    std::map<std::string, std::shared_ptr<sdk::AdminCommand>> adminCommands() const;

    /// One round of pruning (the background thread runs one a minute): ended sessions and the quiet
    /// failure rows of unknown sign-in names, at most a batch of each. Returns the rows removed.
    std::size_t prune();

    PluginManager& plugins() { return *_plugins; }
    Database& database() { return *_database; }
    const PasswordHasher& passwordHasher() const { return *_passwords; }

private:
    /// Publishes the host's routes with those of `generations`; throws (publishing nothing) on a conflict.
    void publish(const std::vector<std::shared_ptr<PluginGeneration>>& generations);
    void watchPluginBuilds();
    ProvidedNotifier providedNotifier(const std::string& type, const Poco::Util::AbstractConfiguration& config) const;
    /// Applies a plugin's migrations for this database's dialect.
    void migratePlugin(const PluginManifest& manifest);
    /// Every minute until stop(): drops ended sessions and the failure rows of unknown sign-in names.
    void pruneLoop();
    /// What /metrics shows beyond the registry: the connection front, the admission limits, the
    /// plugins' collectors, build information and the process.
    void writeMetrics(MetricsPage& page) const;
    /// The keys `signing` describes: HS256 with the resolved `tokens.secret`, or the key files (read
    /// and checked now). Throws Poco::InvalidArgumentException naming the key that cannot be used.
    std::shared_ptr<const TokenKeys> tokenKeys(const TokenSigningSettings& signing);

    Poco::AutoPtr<Poco::Util::AbstractConfiguration> _config;
    const HostSettings _settings; // read once; a reload reports changed host keys as needing a restart
    const sdk::Clock& _clock;
    SystemRandom _random;
    HostAuditLog _audit;
    MessageCatalog _messages;
    MetricsRegistry _metrics; // before the plugins, whose counters it keeps
    Dispatcher _dispatcher;
    ServiceDirectory _services;
    std::unique_ptr<SecretStore> _secrets;
    std::unique_ptr<Database> _database;
    std::unique_ptr<UserStore> _users;
    std::unique_ptr<SessionStore> _sessions;
    std::unique_ptr<TokenService> _tokens;
    std::unique_ptr<PasswordHasher> _passwords;
    std::unique_ptr<PasswordSchemes> _passwordSchemes;
    std::unique_ptr<PasswordGuard> _passwordGuard;
    std::unique_ptr<HashingSlots> _hashing;
    std::unique_ptr<SignInThrottle> _signInThrottle;
    std::unique_ptr<Authenticator> _authenticator;
    std::unique_ptr<AuthEndpoints> _endpoints;
    std::unique_ptr<PluginServices> _pluginServices;
    PluginLoader _loader;
    std::string _privateFolder; // private copies of plugin libraries, each removed once loaded
    int _privateFolderLock = -1; // held for the process's life: the folder is not stale
    std::mutex _publishing;
    std::unique_ptr<PluginManager> _plugins;
    /// The notifier types the generations being served provide, by type; published with the route table.
    using NotifierTypes = std::map<std::string, std::shared_ptr<PluginGeneration>>;
    std::shared_ptr<const NotifierTypes> _notifierTypes = std::make_shared<const NotifierTypes>();
    /// The metrics collectors of the generations being served, each with its generation; published
    /// with the route table.
    using Collectors = std::vector<std::pair<std::shared_ptr<PluginGeneration>, sdk::MetricsCollector>>;
    std::shared_ptr<const Collectors> _collectors = std::make_shared<const Collectors>();
    std::unique_ptr<FileWatcher> _buildWatcher; // development mode
    RequestCounters _counters; // before what refers to it
    std::unique_ptr<RequestContext> _requestContext;
    std::unique_ptr<RequestPipeline> _pipeline;
    std::unique_ptr<ConnectionFront> _server;
    std::unique_ptr<OperationsEndpoints> _operations;
    std::vector<sdk::Route> _hostRoutes;
    std::mutex _pruneMutex;
    std::condition_variable _pruneWake;
    bool _pruneStop = false;
    std::thread _pruner;
};

} // namespace identity::host

#include "app/IdentityServer.h"

#include "app/ConfigurationValues.h"
#include "plugins/SharedNotifier.h"
#include "auth/PasswordPolicy.h"

#include "identity/sdk/Version.h"
#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

#include <Poco/DateTimeFormatter.h>
#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/Path.h>

#include <regex>
#include <set>

#include <cerrno>
#include <cstdlib>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <ctime>
#include <unistd.h>
#include <Poco/Logger.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/ServerSocket.h>

namespace identity::host
{

using sdk::ApiError;


namespace
{
constexpr const char* privateFolderPrefix = "identity-host-plugins-";
/// Where a private folder is made and locked before it takes its name: another host's clean-up never
/// sees a folder whose lock is not taken yet.
constexpr const char* stagingFolderPrefix = "identity-host-staging-";

/// Removes the `<temp>/identity-host-plugins-*` folders of this user whose process is gone: the live
/// one holds an exclusive lock on the folder's `.owner` file for its whole life (a lock, unlike a pid,
/// means the same in every PID namespace). Everything is reached through descriptors opened without
/// following links, and only regular files and the folder itself are removed.
void removeStalePrivateFolders(const std::string& temp)
{
    DIR* directory = ::opendir(temp.c_str());
    if (!directory)
        return;
    const int parent = ::dirfd(directory);
    const std::string prefix = privateFolderPrefix, staging = stagingFolderPrefix;
    while (const dirent* entry = ::readdir(directory))
    {
        const std::string name = entry->d_name;
        const bool isStaging = name.rfind(staging, 0) == 0;
        if (name.rfind(prefix, 0) != 0 && !isStaging)
            continue;
        const int folder = ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (folder < 0)
            continue;
        struct stat info;
        // A staging folder is being made by a host starting now, unless it is a minute old (its maker died).
        const bool mine = ::fstat(folder, &info) == 0 && info.st_uid == ::getuid() && (info.st_mode & 07777) == 0700 &&
                          (!isStaging || ::time(nullptr) - info.st_mtime > 60);
        const int owner = mine ? ::openat(folder, ".owner", O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
        if (owner >= 0 && ::flock(owner, LOCK_EX | LOCK_NB) == 0) // nobody holds it: the process is gone
        {
            if (DIR* stale = ::fdopendir(::dup(folder)))
            {
                while (const dirent* file = ::readdir(stale))
                {
                    struct stat fileInfo;
                    if (::fstatat(folder, file->d_name, &fileInfo, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(fileInfo.st_mode))
                        ::unlinkat(folder, file->d_name, 0);
                }
                ::closedir(stale);
            }
            ::unlinkat(parent, name.c_str(), AT_REMOVEDIR);
        }
        if (owner >= 0)
            ::close(owner);
        ::close(folder);
    }
    ::closedir(directory);
}
} // namespace

IdentityServer::IdentityServer(Poco::Util::AbstractConfiguration& config, const sdk::Clock& clock, bool serving)
    : _config(&config, true), _settings(HostSettings::read(config)), _clock(clock)
{
    // Outbound TLS (notifiers) fails closed: a certificate that does not verify is rejected, never
    // accepted after asking a console.
    Poco::Net::initializeSSL();
    Poco::Net::SSLManager::InvalidCertificateHandlerPtr reject(new Poco::Net::RejectCertificateHandler(false));
    Poco::Net::Context::Params clientParams;
    clientParams.verificationMode = Poco::Net::Context::VERIFY_STRICT;
    clientParams.loadDefaultCAs = true;
    Poco::Net::SSLManager::instance().initializeClient(
        nullptr, reject, new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, clientParams));

    _secrets = std::make_unique<SecretStore>(_settings.secretsFile, _settings.generateSecrets, _random);
    // A connection per HTTP thread, plus the background workers' (delivery, pruning, two generations of
    // a plugin during a reload).
    _database = std::make_unique<Database>(_settings.storageUrl, static_cast<std::size_t>(_settings.threads) + 16);
    _database->migrate();

    _users = std::make_unique<UserStore>(*_database, _clock);
    _sessions = std::make_unique<SessionStore>(*_database, _clock);
    TokenSettings settings;
    settings.issuer = _settings.issuer;
    settings.audience = _settings.audience;
    settings.accessTtl = _settings.accessTtl;
    settings.sudoTtl = _settings.sudoTtl;
    _tokens = std::make_unique<TokenService>(settings, tokenKeys(_settings.signing), _clock, _random);
    _passwords = std::make_unique<PasswordHasher>(
        PasswordHashing{_settings.passwordAlgorithm, _settings.argon2TimeCost, _settings.argon2MemoryKib,
                        _settings.pbkdf2Iterations},
        _random);
    _passwordSchemes = std::make_unique<PasswordSchemes>(*_users, *_passwords, _clock);
    _passwordGuard = std::make_unique<PasswordGuard>(
        *_database, _clock, _audit,
        PasswordLimits{_settings.failuresBeforeLock, _settings.lockSeconds, _settings.accountFailuresBeforeLock},
        _secrets->resolve("passwords.record_key", _settings.passwordRecordKey));
    _passwordGuard->checkRecordKey();
    _authenticator = std::make_unique<Authenticator>(*_tokens, *_sessions);
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    _hashing = std::make_unique<HashingSlots>(_settings.hashSlots ? _settings.hashSlots : cores, _settings.hashWaiting,
                                              std::chrono::milliseconds(_settings.hashWaitMs));
    _signInThrottle = std::make_unique<SignInThrottle>(_settings.signInsPerMinute, _settings.signInBurst);
    _endpoints = std::make_unique<AuthEndpoints>(AuthEndpoints::Dependencies{
        *_users, *_sessions, *_tokens, *_passwords, *_passwordGuard, *_passwordSchemes, *_hashing, *_signInThrottle,
        *_database, _random, _clock, _audit, _services, _settings.refreshTtl});
    _pluginServices = std::make_unique<PluginServices>(
        PluginServices{_audit, _clock, _random, *_database, _messages, *_secrets,
                       [this](const std::string& type, const Poco::Util::AbstractConfiguration& config) {
                           return providedNotifier(type, config);
                       },
                       [this](const PluginManifest& manifest) { migratePlugin(manifest); }, serving, &_metrics});
    // Private copies of plugin libraries: a folder of this process's own (mode 0700) under $TMPDIR,
    // which must allow mapping code (not mounted noexec). Folders left by processes that died are
    // removed first.
    removeStalePrivateFolders(Poco::Path::temp());
    // Made and locked under a staging name, then renamed: a host starting at the same moment never finds
    // it under the private prefix with its lock not yet taken (and removes it as stale).
    std::string folder = Poco::Path::temp() + stagingFolderPrefix + std::to_string(::getpid()) + "-XXXXXX"; // mkdtemp's
    if (!::mkdtemp(folder.data()))
        throw Poco::CreateFileException("cannot create a private folder for plugin libraries", folder);
    _privateFolderLock = ::open((folder + "/.owner").c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (_privateFolderLock < 0 || ::flock(_privateFolderLock, LOCK_EX | LOCK_NB) != 0)
        throw Poco::CreateFileException("cannot lock the private folder for plugin libraries", folder);
    // The final name is random on its own (not derived from the staging one, which others can see), and
    // never replaces what another user put there first.
    std::string named;
    for (int attempt = 0;; ++attempt)
    {
        named = Poco::Path::temp() + privateFolderPrefix + std::to_string(::getpid()) + "-" +
                sdk::crypto::toHex(_random.bytes(8));
        if (::renameat2(AT_FDCWD, folder.c_str(), AT_FDCWD, named.c_str(), RENAME_NOREPLACE) == 0)
            break;
        if ((errno != EEXIST && errno != EPERM && errno != ENOTEMPTY) || attempt == 4)
            throw Poco::CreateFileException("cannot name the private folder for plugin libraries", named);
    }
    _privateFolder = named;
    _plugins = std::make_unique<PluginManager>(
        *_pluginServices, _loader,
        [this](const std::vector<std::shared_ptr<PluginGeneration>>& generations) { publish(generations); },
        _privateFolder);
    _operations = std::make_unique<OperationsEndpoints>(*_plugins, *_database, _counters, _settings.adminToken,
                                                        [this](MetricsPage& page) { writeMetrics(page); });
}

IdentityServer::~IdentityServer()
{
    try
    {
        stop();
        _plugins.reset();
        Poco::File(_privateFolder).remove(true);
    }
    catch (...)
    {
    }
    if (_privateFolderLock >= 0)
        ::close(_privateFolderLock);
    Poco::Net::uninitializeSSL();
}

std::string IdentityServer::createUser(const User& user, const std::string& password)
{
    if (!PasswordPolicy::accepts(password))
        throw Poco::InvalidArgumentException(
            "the password must be 8 to 64 characters with upper- and lower-case letters, a digit and a symbol");
    if (user.username.empty() && user.email.empty() && user.phoneNumber.empty())
        throw Poco::InvalidArgumentException("a user needs a username, an email or a phone number");
    // What later becomes a mail header, an SMS destination or a sign-in name must be plain.
    static const std::regex email("[^\\s@<>\"(),;:]{1,64}@[A-Za-z0-9.-]{1,253}\\.[A-Za-z]{2,63}");
    static const std::regex phone("\\+[1-9][0-9]{6,14}");
    static const std::regex username("[A-Za-z0-9._-]{1,64}");
    if (!user.email.empty() && !std::regex_match(user.email, email))
        throw Poco::InvalidArgumentException("--email is not a plain address (name@domain.tld)");
    if (!user.phoneNumber.empty() && !std::regex_match(user.phoneNumber, phone))
        throw Poco::InvalidArgumentException("--phone must be in E.164 form, e.g. +8613800138000");
    if (!user.username.empty() && !std::regex_match(user.username, username))
        throw Poco::InvalidArgumentException("--username may hold letters, digits, '.', '_' and '-' (1 to 64)");
    if (user.locale != "en" && user.locale != "zh" && !user.locale.empty())
        throw Poco::InvalidArgumentException("--locale must be en or zh");
    User record = user;
    record.passwordHash = _passwords->hash(password);
    return _users->create(record);
}

std::shared_ptr<const TokenKeys> IdentityServer::tokenKeys(const TokenSigningSettings& signing)
{
    std::shared_ptr<const TokenKeys> keys =
        signing.algorithm == "HS256" ? TokenKeys::hmac(_secrets->resolve("tokens.secret", signing.secret))
                                     : TokenKeys::load(signing.algorithm, signing.keys);
    Poco::Logger::get("identity.host").information(keys->describe());
    return keys;
}

void IdentityServer::migratePlugin(const PluginManifest& manifest)
{
    if (manifest.migrationFolders.empty())
        return; // a plugin that keeps no tables
    const std::string dialect = _database->dialect() == sdk::Dialect::SQLite ? "sqlite" : "postgresql";
    const auto folder = manifest.migrationFolders.find(dialect);
    if (folder == manifest.migrationFolders.end())
        throw Poco::DataException("plugin '" + manifest.name + "' has no " + dialect +
                                  " migrations (its manifest's \"migrations\")");
    _database->migratePlugin(manifest.name, readMigrations(folder->second));
}

ProvidedNotifier IdentityServer::providedNotifier(const std::string& type,
                                                  const Poco::Util::AbstractConfiguration& config) const
{
    const std::shared_ptr<const NotifierTypes> types = std::atomic_load(&_notifierTypes);
    auto provider = types->find(type);
    if (provider == types->end())
        return {};
    const std::shared_ptr<PluginGeneration>& generation = provider->second;
    sdk::NotifierPtr notifier = generation->context().notifiers().create(type, config);
    return {std::make_unique<SharedNotifier>(generation, std::move(notifier)), generation->manifest().name};
}

void IdentityServer::publish(const std::vector<std::shared_ptr<PluginGeneration>>& generations)
{
    std::lock_guard<std::mutex> lock(_publishing);
    auto table = std::make_shared<RouteTable>();
    _endpoints->addTo(*table);
    _operations->addTo(*table);
    for (const auto& route : _hostRoutes)
        table->addRoute(route, nullptr);
    auto services = std::make_shared<ServiceRegistry>();
    auto messages = std::make_shared<MessageCatalog::Messages>();
    auto notifierTypes = std::make_shared<NotifierTypes>();
    auto collectors = std::make_shared<Collectors>();
    for (const auto& generation : generations)
    {
        for (const auto& collector : generation->context().collectors())
            collectors->emplace_back(generation, collector);
        const std::string name = generation->manifest().name;
        for (const std::string& type : generation->context().notifiers().types())
        {
            auto taken = notifierTypes->emplace(type, generation);
            if (!taken.second)
                throw Poco::ExistsException("plugin '" + name + "' provides the notifier type '" + type +
                                            "', which plugin '" + taken.first->second->manifest().name +
                                            "' provides already");
        }
        for (const auto& route : generation->context().routes())
            table->addRoute(route, generation);
        for (const auto& service : generation->context().services())
            services->add(service.first, service.second, generation);
        for (const auto& message : generation->context().messages())
            if (!messages->emplace(message).second)
                throw Poco::ExistsException("plugin '" + name + "' defines a message another plugin defines",
                                            message.first);
    }
    // Services and messages first: a route that is served finds what it needs.
    _services.publish(services);
    _messages.publishPluginMessages(messages);
    std::atomic_store(&_notifierTypes, std::shared_ptr<const NotifierTypes>(std::move(notifierTypes)));
    std::atomic_store(&_collectors, std::shared_ptr<const Collectors>(std::move(collectors)));
    _dispatcher.publish(table);
}

void IdentityServer::watchPluginBuilds()
{
    if (!_buildWatcher)
        _buildWatcher = std::make_unique<FileWatcher>(
            [this](const std::string& name) {
                Poco::Logger::get("identity.plugins").information("plugin '%s': a new build landed, reloading", name);
                try
                {
                    _plugins->reload(name);
                }
                catch (const Poco::NotFoundException&)
                {
                }
            },
            std::chrono::milliseconds(_settings.debounceMs));
    _buildWatcher->watch(_plugins->libraries());
}

std::vector<std::string> IdentityServer::reconfigure(Poco::AutoPtr<Poco::Util::AbstractConfiguration> config)
{
    auto& logger = Poco::Logger::get("identity.host");
    // Token signing is read anew, key files included, so keys rotate without a restart; a key that
    // cannot be used refuses the whole reload (the running keys stay).
    std::shared_ptr<const TokenKeys> tokenKeySet = tokenKeys(TokenSigningSettings::read(*config));
    const std::map<std::string, std::string> before = configurationValues(*_config);
    const std::map<std::string, std::string> after = configurationValues(*config);
    std::vector<std::string> restart;
    std::set<std::string> keys;
    for (const auto& entry : before)
        keys.insert(entry.first);
    for (const auto& entry : after)
        keys.insert(entry.first);
    for (const std::string& key : keys)
    {
        if (key.rfind("plugins.", 0) == 0 || key == "tokens.algorithm" || key == "tokens.secret" ||
            key.rfind("tokens.keys", 0) == 0)
            continue;
        auto was = before.find(key), is = after.find(key);
        if (was == before.end() || is == after.end() || was->second != is->second)
            restart.push_back(key);
    }
    _config = config;
    _tokens->useKeys(std::move(tokenKeySet));
    _plugins->apply(PluginSpec::fromConfiguration(*_config)); // publishes, the admin routes included
    if (_buildWatcher)
        _buildWatcher->watch(_plugins->libraries());
    if (restart.empty())
        logger.information("configuration reloaded");
    else
    {
        std::string list;
        for (const auto& key : restart)
            list += (list.empty() ? "" : ", ") + key;
        logger.warning("configuration reloaded; these changed keys take effect only after a restart: %s", list);
    }
    return restart;
}

void IdentityServer::loadPlugins()
{
    publish({});
    _plugins->apply(PluginSpec::fromConfiguration(*_config));
    // A command run without one of them would do only part of its work (a deletion leaving that
    // plugin's data about the user, and no notice), or not find the command.
    for (const PluginStatus& plugin : _plugins->status())
        if (plugin.state == "failed")
            throw Poco::IOException("plugin '" + plugin.name + "' did not start (" + plugin.lastError +
                                    "): the command needs every enabled plugin");
}

bool IdentityServer::deleteUser(const std::string& id) { return _endpoints->deleteAccount(id, nullptr); }

std::string IdentityServer::userIdOf(const std::string& username)
{
    const auto user = _users->findByLogin("username", username);
    return user ? user->id : std::string();
}

std::map<std::string, std::shared_ptr<sdk::AdminCommand>> IdentityServer::adminCommands() const
{
    const auto services = _services.current();
    std::map<std::string, std::shared_ptr<sdk::AdminCommand>> commands;
    const std::string prefix = sdk::AdminCommand::prefix;
    for (const auto& [name, command] : services->namedAll<sdk::AdminCommand>(prefix))
        commands.emplace(name.substr(prefix.size()), command);
    return commands;
}

void IdentityServer::start()
{
    auto& logger = Poco::Logger::get("identity.host");
    publish({});
    _plugins->apply(PluginSpec::fromConfiguration(*_config));
    if (_settings.development)
        watchPluginBuilds();

    HttpSettings http;
    http.maxBodyBytes = static_cast<std::size_t>(_settings.maxBodyBytes);
    http.defaultClientId = _settings.environmentId;
    http.clients = _settings.clients;
    http.trustedProxies = _settings.trustedProxies;
    _requestContext = std::unique_ptr<RequestContext>(new RequestContext{
        http, _dispatcher, _messages, *_authenticator, _random, Poco::Logger::get("identity.access"),
        Poco::Logger::get("identity.error"), _counters, _metrics});

    const Poco::Net::SocketAddress address(_settings.host, static_cast<Poco::UInt16>(_settings.port));
    const std::string& certificate = _settings.tlsCertificate;
    const std::string& privateKey = _settings.tlsPrivateKey;
    Poco::Net::ServerSocket socket;
    Poco::Net::Context::Ptr tls;
    if (!certificate.empty())
    {
        Poco::Net::Context::Params params;
        params.certificateFile = certificate;
        params.privateKeyFile = privateKey;
        params.verificationMode = Poco::Net::Context::VERIFY_NONE; // clients present no certificate
        // TLS 1.2: forward secrecy (ECDHE) and AEAD ciphers only, no RSA key exchange and no CBC; TLS 1.3's
        // suites are all of that kind (OpenSSL's defaults).
        params.cipherList = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                            "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                            "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
        Poco::Net::Context::Ptr context = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
        context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
        context->enableExtendedCertificateVerification(false);
        tls = context; // the front speaks TLS itself, non-blocking, on a plain socket
    }
    try
    {
        // Poco's ServerSocket(address) binds with SO_REUSEPORT: a second host on the same port would
        // start and share the connections. Bind without it, so a busy port is an error.
        socket.bind(address, true, false);
        socket.listen(1024); // a burst of connections waits in the kernel, not in SYN retransmits
    }
    catch (const Poco::Exception& error)
    {
        throw Poco::IOException("cannot listen on " + address.toString() + ": " + error.displayText() +
                                " (is another identity-host running on this port?)");
    }
    FrontSettings front;
    front.threads = _settings.threads;
    front.maxQueued = static_cast<std::size_t>(_settings.maxQueued);
    front.requestTimeout = std::chrono::seconds(_settings.requestTimeout);
    front.keepAliveTimeout = std::chrono::seconds(_settings.keepAliveTimeout);
    front.writeTimeout = std::chrono::seconds(_settings.writeTimeout);
    front.maxConnections = static_cast<std::size_t>(_settings.maxConnections);
    front.connectionsPerAddress = static_cast<std::size_t>(_settings.connectionsPerAddress);
    front.uncappedAddresses = _settings.trustedProxies;
    front.addressKey = &PasswordGuard::clientKey; // an IPv6 client by its /64, as the password counts do
    front.limits.maxBodyBytes = static_cast<std::size_t>(_settings.maxBodyBytes);
    _pipeline = std::make_unique<RequestPipeline>(*_requestContext);
    RequestPipeline& pipeline = *_pipeline;
    _server = std::make_unique<ConnectionFront>(
        std::move(socket), tls, front, [&pipeline](HttpRequest& request) { return pipeline.handle(request); },
        [&pipeline](const std::string& peer, const sdk::ApiError& error) { return pipeline.refuse(peer, error); });
    _server->start();

    const std::string& portFile = _settings.portFile;
    if (!portFile.empty())
    {
        Poco::FileOutputStream out(portFile);
        out << port() << "\n";
    }
    logger.information("listening on %s://%s:%hu", std::string(certificate.empty() ? "http" : "https"),
                       address.host().toString(), port());
    _pruner = std::thread([this] { pruneLoop(); });
}

std::size_t IdentityServer::prune()
{
    // In batches, so no delete holds the write lock for long; the next round takes the rest. Sessions
    // are kept an hour after they ended, for the record.
    constexpr int batch = 1000;
    const std::size_t sessions = _sessions->prune(3600, batch);
    const std::size_t failures = _passwordGuard->prune(batch);
    const std::size_t sudo = _sessions->pruneSpentSudoTokens(batch);
    if (sessions + failures + sudo > 0)
        Poco::Logger::get("identity.storage")
            .debug("pruned %z ended sessions, %z password failure rows and %z spent sudo tokens", sessions, failures,
                   sudo);
    return sessions + failures + sudo;
}

void IdentityServer::pruneLoop()
{
    std::unique_lock<std::mutex> lock(_pruneMutex);
    while (!_pruneWake.wait_for(lock, std::chrono::seconds(60), [this] { return _pruneStop; }))
    {
        lock.unlock();
        try
        {
            prune();
        }
        catch (const std::exception& error)
        {
            Poco::Logger::get("identity.storage").warning("pruning failed: %s", std::string(error.what()));
        }
        lock.lock();
    }
}

void IdentityServer::stop()
{
    if (_pruner.joinable())
    {
        {
            std::lock_guard<std::mutex> lock(_pruneMutex);
            _pruneStop = true;
        }
        _pruneWake.notify_all();
        _pruner.join();
    }
    if (_server)
    {
        // New connections refused at once; the requests in flight get the drain time to finish.
        const std::size_t abandoned = _server->stop(std::chrono::seconds(_settings.drainSeconds));
        if (abandoned)
            Poco::Logger::get("identity.host")
                .warning("stopped with %z connections unfinished after the %d s drain", abandoned,
                         _settings.drainSeconds);
        _server.reset();
    }
    _buildWatcher.reset();
    _dispatcher.publish(std::make_shared<const RouteTable>());
    _services.publish(std::make_shared<const ServiceRegistry>());
    std::atomic_store(&_notifierTypes, std::make_shared<const NotifierTypes>());
    std::atomic_store(&_collectors, std::make_shared<const Collectors>());
    if (_plugins)
        _plugins->unloadAll();
}

void IdentityServer::writeMetrics(MetricsPage& page) const
{
    page.gauge("identity_build_info", "The host's version and the SDK version it provides; always 1.", 1,
               {{"version", IDENTITY_HOST_VERSION}, {"sdk_version", std::to_string(IDENTITY_SDK_VERSION_MAJOR) + "." +
                                                                     std::to_string(IDENTITY_SDK_VERSION_MINOR)}});
    if (_server)
    {
        const FrontCounters& front = _server->counters();
        page.gauge("identity_connections_open", "Client connections open now.", static_cast<double>(front.open.load()));
        page.gauge("identity_requests_in_flight", "Whole requests waiting for a worker or running.",
                   static_cast<double>(front.inFlight.load()));
        page.counter("identity_connections_accepted_total", "Client connections accepted.",
                     static_cast<double>(front.accepted.load()));
        const char* help = "Requests or connections refused by a limit, by limit.";
        page.counter("identity_limits_hit_total", help, static_cast<double>(front.refusedPerAddress.load()),
                     {{"limit", "connections_per_address"}});
        page.counter("identity_limits_hit_total", help, static_cast<double>(front.refusedTotal.load()),
                     {{"limit", "max_connections"}});
        page.counter("identity_limits_hit_total", help, static_cast<double>(front.refusedBusy.load()),
                     {{"limit", "max_queued"}});
        page.counter("identity_limits_hit_total", help, static_cast<double>(front.timedOut.load()),
                     {{"limit", "request_timeout"}});
    }
    const char* help = "Requests or connections refused by a limit, by limit.";
    page.counter("identity_limits_hit_total", help, static_cast<double>(_signInThrottle->refused()),
                 {{"limit", "signins_per_minute"}});
    page.counter("identity_limits_hit_total", help, static_cast<double>(_hashing->refused()), {{"limit", "hash_slots"}});
    page.counter("identity_limits_hit_total", help, static_cast<double>(_passwordGuard->lockRefusals()),
                 {{"limit", "password_lock"}});
    page.gauge("identity_hash_slots_busy", "Password hashing slots in use now.", _hashing->busy());
    page.counter("identity_password_hashes_total", "Password hashes computed, by algorithm (the spent ones included).",
                 static_cast<double>(_passwords->argon2idHashes()), {{"algorithm", "argon2id"}});
    page.counter("identity_password_hashes_total", "Password hashes computed, by algorithm (the spent ones included).",
                 static_cast<double>(_passwords->pbkdf2Hashes()), {{"algorithm", "pbkdf2-sha256"}});

    // The plugins' own gauges, each collector with its generation held.
    const std::shared_ptr<const Collectors> collectors = std::atomic_load(&_collectors);
    // The request histogram and the counters (the host's and the plugins'), after the host's own series:
    // a plugin counter named like one of them is left out, the first value written stands.
    _metrics.writeTo(page);
    // Each on a page of its own, merged only when it returns: one that throws adds nothing, and none can
    // write a series the host's page has already.
    for (const auto& [generation, collector] : *collectors)
    {
        MetricsPage scratch("identity_");
        try
        {
            collector(scratch);
            page.merge(scratch);
        }
        catch (const std::exception& error)
        {
            Poco::Logger::get("identity.plugins")
                .warning("plugin '%s': a metrics collector failed: %s", generation->manifest().name,
                         std::string(error.what()));
        }
        catch (...)
        {
            Poco::Logger::get("identity.plugins")
                .warning("plugin '%s': a metrics collector failed", generation->manifest().name);
        }
    }
    MetricsRegistry::writeProcessMetrics(page);
}

void IdentityServer::addHostRoute(sdk::Route route) { _hostRoutes.push_back(std::move(route)); }

Poco::UInt16 IdentityServer::port() const { return _server ? _server->port() : 0; }

} // namespace identity::host

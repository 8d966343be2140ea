#include "app/IdentityServer.h"

#include "auth/PasswordPolicy.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

#include <Poco/FileStream.h>

#include <regex>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>

namespace identity::host
{

using sdk::ApiError;

namespace
{
std::string environmentId(const Poco::Util::AbstractConfiguration& config)
{
    return config.getString("environment.id", "dev");
}
} // namespace

IdentityServer::IdentityServer(Poco::Util::AbstractConfiguration& config, const sdk::Clock& clock)
    : _config(config), _clock(clock)
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

    _secrets = std::make_unique<SecretStore>(config.getString("secrets.file", "var/secrets.json"),
                                             config.getBool("secrets.generate", false), _random);
    const int threads = config.getInt("server.threads", 32);
    if (threads < 2 || threads > 1024)
        throw Poco::InvalidArgumentException("server.threads must be between 2 and 1024");
    // Poco's session pool throws at once when empty: one session per HTTP thread, plus the workers'.
    _database = std::make_unique<Database>(config.getString("storage.url", "sqlite:var/identity.db"),
                                           static_cast<std::size_t>(threads) + 16);
    _database->migrate();

    _users = std::make_unique<UserStore>(*_database, _clock);
    _sessions = std::make_unique<SessionStore>(*_database, _clock);
    if (config.getString("tokens.algorithm", "HS256") != "HS256")
        throw Poco::InvalidArgumentException("tokens.algorithm: this build signs with HS256 only");
    TokenSettings settings;
    settings.issuer = config.getString("tokens.issuer", "http://127.0.0.1:8080");
    settings.audience = config.getString("tokens.audience", environmentId(config));
    settings.secret = _secrets->resolve("tokens.secret", config.getString("tokens.secret", ""));
    settings.accessTtl = config.getInt("tokens.access_ttl", 7200);
    settings.sudoTtl = config.getInt("tokens.sudo_ttl", 900);
    if (settings.accessTtl < 60 || settings.sudoTtl < 60)
        throw Poco::InvalidArgumentException("tokens.access_ttl and tokens.sudo_ttl must be at least 60 seconds");
    _tokens = std::make_unique<TokenService>(settings, _clock, _random);
    _passwords = std::make_unique<PasswordHasher>(
        config.getInt("passwords.pbkdf2_iterations", PasswordHasher::minimumIterations), _random);
    _passwordGuard = std::make_unique<PasswordGuard>(*_database, _clock, _audit,
                                                     config.getInt("passwords.failures_before_lock", 10),
                                                     config.getInt("passwords.lock_seconds", 900));
    _authenticator = std::make_unique<Authenticator>(*_tokens, *_sessions);
    _endpoints = std::make_unique<AuthEndpoints>(AuthEndpoints::Dependencies{
        *_users, *_sessions, *_tokens, *_passwords, *_passwordGuard, *_database, _random, _clock, _audit, _dispatcher,
        config.getInt("tokens.refresh_ttl", 2592000)});
    _pluginServices = std::make_unique<PluginServices>(
        PluginServices{_audit, _clock, _random, *_database, _messages, *_secrets});
    _plugins = std::make_unique<PluginManager>(*_pluginServices, _loader);
    const std::string admin = config.getString("admin.token", "");
    if (!admin.empty() && admin.find("${") == std::string::npos)
    {
        if (admin.size() < 32)
            throw Poco::InvalidArgumentException("admin.token must be at least 32 characters");
        _adminToken = admin;
    }
}

IdentityServer::~IdentityServer()
{
    try
    {
        stop();
    }
    catch (...)
    {
    }
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

Poco::JSON::Array::Ptr IdentityServer::pluginStates(bool withErrors) const
{
    Poco::JSON::Array::Ptr plugins = new Poco::JSON::Array;
    for (const auto& status : _plugins->status())
    {
        Poco::JSON::Object::Ptr entry = new Poco::JSON::Object;
        entry->set("name", status.name);
        entry->set("version", status.version);
        entry->set("state", status.state);
        if (withErrors) // the reasons are for the operator (admin API), not for anyone who asks
            entry->set("error", status.error);
        plugins->add(entry);
    }
    return plugins;
}

void IdentityServer::addOperationsRoutes(RouteTable& table)
{
    using Auth = sdk::Route::Auth;
    table.addRoute(sdk::Route{"GET", "/healthz", Auth::None,
                              [this](const sdk::Request&, sdk::Response& response) {
                                  response.body->set("status", "ok");
                                  response.body->set("plugins", pluginStates(false));
                              }},
                   nullptr);
    table.addRoute(sdk::Route{"GET", "/metrics", Auth::None,
                              [this](const sdk::Request&, sdk::Response& response) {
                                  const auto& counters = _requestContext->counters;
                                  std::string text = "# HELP identity_http_requests_total HTTP requests answered, "
                                                     "by status class.\n# TYPE identity_http_requests_total counter\n";
                                  for (int c = 1; c <= 5; ++c)
                                      text += "identity_http_requests_total{class=\"" + std::to_string(c) +
                                              "xx\"} " + std::to_string(counters.byClass[c].load()) + "\n";
                                  int running = 0;
                                  for (const auto& status : _plugins->status())
                                      running += status.state == "running";
                                  text += "# HELP identity_plugins_running Plugins loaded and serving.\n"
                                          "# TYPE identity_plugins_running gauge\nidentity_plugins_running " +
                                          std::to_string(running) + "\n";
                                  response.contentType = "text/plain; version=0.0.4; charset=utf-8";
                                  response.text = text;
                              }},
                   nullptr);
    if (_adminToken.empty())
        return;
    table.addRoute(sdk::Route{"GET", "/admin/plugins", Auth::None,
                              [this](const sdk::Request& request, sdk::Response& response) {
                                  const std::string token = Authenticator::bearerToken(request.header("Authorization"));
                                  if (!sdk::crypto::constantTimeEquals(sdk::crypto::sha256(token),
                                                                       sdk::crypto::sha256(_adminToken)))
                                      throw ApiError::unauthenticated();
                                  response.body->set("plugins", pluginStates(true));
                              }},
                   nullptr);
}

void IdentityServer::publishRoutes()
{
    auto table = std::make_shared<RouteTable>();
    _endpoints->addTo(*table);
    addOperationsRoutes(*table);
    // A plugin whose routes or services collide with what is already served is refused as a whole.
    for (const auto& generation : std::vector<std::shared_ptr<PluginGeneration>>(_plugins->generations()))
    {
        RouteTable candidate = *table;
        try
        {
            for (const auto& route : generation->context().routes())
                candidate.addRoute(route, generation);
            for (const auto& service : generation->context().services())
                candidate.addService(service.first, service.second, generation);
            *table = std::move(candidate);
        }
        catch (const Poco::Exception& error)
        {
            _plugins->reject(generation, error.displayText());
        }
    }
    _dispatcher.publish(table);
}

void IdentityServer::start()
{
    auto& logger = Poco::Logger::get("identity.host");
    _plugins->loadAll(_config);
    publishRoutes();

    HttpSettings http;
    http.maxBodyBytes = static_cast<std::size_t>(_config.getInt("server.max_body_bytes", 16384));
    http.defaultClientId = environmentId(_config);
    http.clients.insert(http.defaultClientId);
    for (int i = 0; _config.has("environment.clients[" + std::to_string(i) + "]"); ++i)
        http.clients.insert(_config.getString("environment.clients[" + std::to_string(i) + "]"));
    for (int i = 0; _config.has("server.trusted_proxies[" + std::to_string(i) + "]"); ++i)
        http.trustedProxies.insert(_config.getString("server.trusted_proxies[" + std::to_string(i) + "]"));
    _requestContext = std::unique_ptr<RequestContext>(new RequestContext{
        http, _dispatcher, _messages, *_authenticator, _random, Poco::Logger::get("identity.access"),
        Poco::Logger::get("identity.error"), {}});

    const int threads = _config.getInt("server.threads", 32);
    // Poco's default pool caps at 16 threads whatever the parameters say: give the server its own.
    _threads = std::make_unique<Poco::ThreadPool>(2, threads, 60);
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(threads);
    params->setMaxQueued(_config.getInt("server.max_queued", 256));
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(1000);
    params->setKeepAliveTimeout(Poco::Timespan(10, 0));
    params->setTimeout(Poco::Timespan(15, 0));
    const Poco::Net::SocketAddress address(_config.getString("server.host", "127.0.0.1"),
                                           static_cast<Poco::UInt16>(_config.getInt("server.port", 8080)));
    const std::string certificate = _config.getString("server.tls.certificate", "");
    const std::string privateKey = _config.getString("server.tls.private_key", "");
    if (certificate.empty() != privateKey.empty())
        throw Poco::InvalidArgumentException("server.tls needs both certificate and private_key");
    Poco::Net::ServerSocket socket;
    if (!certificate.empty())
    {
        Poco::Net::Context::Params params;
        params.certificateFile = certificate;
        params.privateKeyFile = privateKey;
        params.verificationMode = Poco::Net::Context::VERIFY_NONE; // clients present no certificate
        params.cipherList = "HIGH:!aNULL:!MD5:!RC4";
        Poco::Net::Context::Ptr context = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
        context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
        context->enableExtendedCertificateVerification(false);
        socket = Poco::Net::SecureServerSocket(address, 128, context);
    }
    else
        socket = Poco::Net::ServerSocket(address, 128);
    _server = std::make_unique<Poco::Net::HTTPServer>(new HostRequestHandlerFactory(*_requestContext), *_threads,
                                                      socket, params);
    _server->start();

    const std::string portFile = _config.getString("server.port_file", "");
    if (!portFile.empty())
    {
        Poco::FileOutputStream out(portFile);
        out << port() << "\n";
    }
    logger.information("listening on %s://%s:%hu", std::string(certificate.empty() ? "http" : "https"),
                       address.host().toString(), port());
}

void IdentityServer::stop()
{
    if (_server)
    {
        // Finish the requests in flight, then close.
        _server->stopAll(false);
        _threads->joinAll();
        _server.reset();
    }
    _dispatcher.publish(std::make_shared<const RouteTable>());
    if (_plugins)
        _plugins->unloadAll();
}

Poco::UInt16 IdentityServer::port() const { return _server ? _server->port() : 0; }

} // namespace identity::host

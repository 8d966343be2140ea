#include "app/HostApplication.h"

#include "identity/sdk/Storage.h"

#include "app/AdminCommands.h"
#include "app/ConfigValidator.h"
#include "app/IdentityServer.h"
#include "app/JsonLogFormatter.h"
#include "app/SecretStore.h"
#include "support/FileWatcher.h"
#include "support/SystemClock.h"
#include "support/SystemRandom.h"

#include "identity/sdk/Service.h"
#include "identity/sdk/Version.h"

#include <Poco/AsyncChannel.h>
#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/File.h>
#include <Poco/FileChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/Path.h>
#include <Poco/String.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/JSONConfiguration.h>
#include <Poco/Util/MapConfiguration.h>
#include <Poco/Util/SystemConfiguration.h>

#include <condition_variable>
#include <iostream>
#include <sstream>
#include <thread>

#include <signal.h>

#include <unistd.h> // environ

namespace identity::host
{

namespace
{
/// The signals the serving loop waits for. They are blocked in every thread (from the first, before
/// any other starts), so that none of them kills the process by default: SIGHUP reloads.
sigset_t servingSignals()
{
    sigset_t signals;
    sigemptyset(&signals);
    for (int number : {SIGHUP, SIGINT, SIGQUIT, SIGTERM})
        sigaddset(&signals, number);
    return signals;
}
} // namespace

using Poco::Util::Option;
using Poco::Util::OptionCallback;

void HostApplication::defineOptions(Poco::Util::OptionSet& options)
{
    ServerApplication::defineOptions(options);
    options.addOption(Option("help", "h", "print this help and exit").required(false).repeatable(false));
    options.addOption(Option("config", "", "configuration file (default config/dev.json)")
                          .required(false).repeatable(false).argument("FILE"));
    options.addOption(Option("define", "D", "override a configuration key, e.g. --define=server.port=18080")
                          .required(false).repeatable(true).argument("KEY=VALUE"));
    for (const char* field : {"username", "email", "phone", "password", "locale"})
        options.addOption(Option(field, "", std::string("user create: the user's ") + field)
                              .required(false).repeatable(false).argument("VALUE"));
    options.addOption(Option("id", "", "user disable, user delete: the user's id; outbox retry: the message's")
                          .required(false).repeatable(false).argument("ID"));
    options.addOption(Option("status", "", "outbox list: unsent (default), failed or all")
                          .required(false).repeatable(false).argument("STATUS"));
    options.addOption(Option("format", "", "output of the commands: json (default) or table")
                          .required(false).repeatable(false).argument("json|table"));
    options.addOption(Option("version", "", "print the version and exit").required(false).repeatable(false));
}

void HostApplication::handleOption(const std::string& name, const std::string& value)
{
    ServerApplication::handleOption(name, value);
    if (name == "help")
    {
        _helpRequested = true;
        stopOptionsProcessing();
    }
    else if (name == "version")
    {
        _versionRequested = true;
        stopOptionsProcessing();
    }
    else if (name == "config")
        _configFile = value;
    else if (name == "define")
    {
        const auto equals = value.find('=');
        if (equals == std::string::npos || equals == 0)
            throw Poco::InvalidArgumentException("--define needs KEY=VALUE", value);
        _defines.emplace_back(value.substr(0, equals), value.substr(equals + 1));
    }
    else
        _userFields[name] = value;
}

Poco::JSON::Object::Ptr HostApplication::validConfiguration() const
{
    // The file, then the environment's IDENTITY_* keys, then --define: the command line has the last word.
    std::vector<std::pair<std::string, std::string>> defines = ConfigValidator::environmentDefines(environ);
    defines.insert(defines.end(), _defines.begin(), _defines.end());
    Poco::JSON::Object::Ptr document = ConfigValidator::document(_configFile, defines);
    ConfigValidator::require(document);
    return document;
}

void HostApplication::addConfiguration(Poco::Util::LayeredConfiguration& config, const Poco::JSON::Object::Ptr& document)
{
    // One document, the file with the command line's overrides applied: what was validated is what runs.
    std::ostringstream text;
    document->stringify(text);
    std::istringstream in(text.str());
    Poco::AutoPtr<Poco::Util::JSONConfiguration> layer(new Poco::Util::JSONConfiguration);
    layer->load(in);
    config.add(layer, PRIO_APPLICATION, false);
}

void HostApplication::initialize(Poco::Util::Application& self)
{
    const sigset_t signals = servingSignals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    if (!_helpRequested && !_versionRequested)
    {
        try
        {
            addConfiguration(config(), validConfiguration());
        }
        catch (const Poco::Exception& error)
        {
            _configError = error.message(); // main() reports it; `config check` lists it
        }
        configureLogging();
    }
    ServerApplication::initialize(self);
}

void HostApplication::reloadConfiguration(IdentityServer& server)
{
    std::lock_guard<std::mutex> lock(_reloading);
    try
    {
        Poco::JSON::Object::Ptr document = validConfiguration();
        Poco::AutoPtr<Poco::Util::LayeredConfiguration> fresh(new Poco::Util::LayeredConfiguration);
        fresh->add(new Poco::Util::SystemConfiguration, PRIO_SYSTEM, false);
        addConfiguration(*fresh, document);
        server.reconfigure(fresh);
    }
    catch (const Poco::Exception& error)
    {
        logger().error("configuration reload refused, the running configuration stays: %s", error.displayText());
    }
    catch (const std::exception& error)
    {
        logger().error("configuration reload refused, the running configuration stays: %s", std::string(error.what()));
    }
}

int HostApplication::checkConfiguration()
{
    if (_configError.empty())
    {
        // The host's own secrets as start-up resolves them: unset with nothing to generate them, or
        // shorter than 32 bytes, start-up would stop. (Checked, never generated nor printed.)
        try
        {
            const HostSettings settings = HostSettings::read(config());
            if (!settings.generateSecrets)
            {
                SystemRandom random;
                SecretStore secrets("", false, random);
                if (settings.signing.algorithm == "HS256")
                    secrets.resolve("tokens.secret", settings.signing.secret);
                secrets.resolve("passwords.record_key", settings.passwordRecordKey);
            }
        }
        catch (const Poco::Exception& error)
        {
            _configError = error.message();
        }
    }
    if (_configError.empty())
    {
        std::cout << _configFile << ": valid" << std::endl;
        return EXIT_OK;
    }
    std::cerr << _configFile << ": " << _configError << std::endl;
    return EXIT_CONFIG;
}

int HostApplication::serve()
{
    SystemClock clock;
    IdentityServer server(config(), clock);
    server.start();
    std::unique_ptr<FileWatcher> configWatcher;
    if (config().getBool("development.enabled", false))
    {
        configWatcher = std::make_unique<FileWatcher>([this, &server](const std::string&) {
            logger().information("the configuration file changed, reloading it");
            reloadConfiguration(server);
        }, std::chrono::milliseconds(config().getInt("development.debounce_ms", 150)));
        configWatcher->watch({{"config", _configFile}});
    }
    // Reloads run on a thread of their own, so that the signal loop stays responsive while one is
    // under way (a plugin slow to start, say); SIGHUPs that arrive meanwhile make one more reload.
    std::mutex reloadMutex;
    std::condition_variable reloadWanted;
    bool pending = false, stopping = false, busy = false;
    std::thread reloader([&] {
        std::unique_lock<std::mutex> lock(reloadMutex);
        for (;;)
        {
            reloadWanted.wait(lock, [&] { return pending || stopping; });
            if (stopping)
                return;
            pending = false;
            busy = true;
            lock.unlock();
            reloadConfiguration(server);
            lock.lock();
            busy = false;
            reloadWanted.notify_all();
        }
    });
    const sigset_t signals = servingSignals();
    for (;;)
    {
        int number = 0;
        if (sigwait(&signals, &number) != 0)
            continue;
        if (number != SIGHUP)
            break;
        logger().information("SIGHUP: reloading the configuration");
        std::lock_guard<std::mutex> lock(reloadMutex);
        pending = true;
        reloadWanted.notify_one();
    }
    {
        std::unique_lock<std::mutex> lock(reloadMutex);
        stopping = true;
        reloadWanted.notify_all();
        // A reload that does not end (a plugin whose start() never returns) must not keep the process
        // from stopping: after a grace period it exits without a clean stop, and says so.
        if (!reloadWanted.wait_for(lock, std::chrono::seconds(30), [&] { return !busy; }))
        {
            logger().fatal("a configuration reload is still running after 30 s (a plugin's start() does not "
                           "return); exiting without a clean stop");
            std::cerr << "identity-host: a configuration reload did not finish; exiting without a clean stop"
                      << std::endl;
            std::_Exit(EXIT_SOFTWARE);
        }
    }
    reloader.join();
    configWatcher.reset();
    logger().information("stopping: draining requests in flight");
    server.stop();
    return EXIT_OK;
}

void HostApplication::configureLogging()
{
    const std::string file = config().getString("logging.file", "");
    Poco::AutoPtr<Poco::Channel> sink;
    if (file.empty())
        sink = new Poco::ConsoleChannel;
    else
    {
        const Poco::Path parent = Poco::Path(file).parent();
        if (!parent.toString().empty())
            Poco::File(parent).createDirectories();
        Poco::AutoPtr<Poco::FileChannel> channel(new Poco::FileChannel(file));
        channel->setProperty("rotation", "100 M");
        channel->setProperty("archive", "timestamp");
        channel->setProperty("purgeCount", "5");
        sink = channel;
    }
    Poco::AutoPtr<Poco::FormattingChannel> formatted(new Poco::FormattingChannel(new JsonLogFormatter, sink));
    // Writing happens on the channel's own thread, not on the request's.
    Poco::AutoPtr<Poco::AsyncChannel> async(new Poco::AsyncChannel(formatted));
    Poco::Logger::root().setChannel(async);
    Poco::Logger::root().setLevel(config().getString("logging.level", "information"));
    logger().setChannel(async);
    logger().setLevel(config().getString("logging.level", "information"));
}

int HostApplication::createUser()
{
    SystemClock clock;
    IdentityServer server(config(), clock);
    User user;
    user.username = _userFields["username"];
    user.email = _userFields["email"];
    user.phoneNumber = _userFields["phone"];
    user.locale = _userFields.count("locale") ? _userFields["locale"] : "en";
    std::string password = _userFields["password"];
    if (password.empty() || password == "-")
        std::getline(std::cin, password); // keeps the password out of the process list
    const std::string id = server.createUser(user, password);
    std::cout << "{\"sub\":\"" << id << "\"}" << std::endl;
    return EXIT_OK;
}

int HostApplication::pluginCommand(const std::vector<std::string>& args, const std::string& format)
{
    SystemClock clock;
    IdentityServer server(config(), clock, false); // the plugins start no background work
    try
    {
        server.loadPlugins();
    }
    catch (const Poco::IOException& error)
    {
        std::cerr << "identity-host: " << error.message() << std::endl;
        return EXIT_UNAVAILABLE;
    }
    AdminCommands printer(config(), format, std::cout, std::cerr);
    const std::string words = Poco::cat(std::string(" "), args.begin(), args.end());
    if (words == "user delete")
    {
        std::string id = _userFields["id"];
        const std::string username = _userFields["username"];
        if (id.empty() == username.empty())
        {
            std::cerr << "identity-host: user delete needs exactly one of --id and --username" << std::endl;
            return EXIT_USAGE;
        }
        if (id.empty())
            id = server.userIdOf(username);
        if (id.empty() || !server.deleteUser(id))
        {
            std::cerr << "identity-host: no such user" << std::endl;
            return AdminCommands::exitNoUser;
        }
        Poco::JSON::Array::Ptr rows = new Poco::JSON::Array;
        Poco::JSON::Object::Ptr row = new Poco::JSON::Object;
        row->set("id", id);
        row->set("status", "deleted");
        rows->add(row);
        printer.print(rows, {"id", "status"});
        return EXIT_OK;
    }
    // The commands hold the plugins' code: released before the server unloads it.
    auto commands = server.adminCommands();
    if (words == "commands")
    {
        Poco::JSON::Array::Ptr rows = new Poco::JSON::Array;
        for (const auto& [name, command] : commands)
        {
            Poco::JSON::Object::Ptr row = new Poco::JSON::Object;
            row->set("command", name);
            row->set("summary", command->summary());
            rows->add(row);
        }
        printer.print(rows, {"command", "summary"});
        return EXIT_OK;
    }
    const auto command = commands.find(words);
    if (command == commands.end())
    {
        std::cerr << "identity-host: unknown command '" << words << "'; see --help and `identity-host commands`"
                  << std::endl;
        return EXIT_USAGE;
    }
    std::map<std::string, std::string> options = _userFields;
    options.erase("password");
    options.erase("format");
    sdk::AdminOutput output;
    try
    {
        output = command->second->run(options);
    }
    catch (const Poco::InvalidArgumentException& error)
    {
        std::cerr << "identity-host: " << words << ": " << error.message() << std::endl;
        return EXIT_USAGE;
    }
    catch (const Poco::DataException& error)
    {
        std::cerr << "identity-host: " << words << ": " << error.message() << std::endl;
        return EXIT_DATAERR;
    }
    catch (const sdk::StorageUnavailable& error)
    {
        std::cerr << "identity-host: " << words << ": cannot use the database: " << error.why() << std::endl;
        return EXIT_UNAVAILABLE;
    }
    catch (const std::exception& error)
    {
        // Here, while the plugin that threw is loaded: the exception may be of one of its types.
        std::cerr << "identity-host: " << words << " failed: " << error.what() << std::endl;
        return EXIT_SOFTWARE;
    }
    printer.print(output.rows, output.columns);
    return EXIT_OK;
}

int HostApplication::main(const std::vector<std::string>& args)
{
    if (_versionRequested)
    {
        std::cout << "identity-host " << IDENTITY_HOST_VERSION << " (plugin SDK " << IDENTITY_SDK_VERSION_MAJOR << "."
                  << IDENTITY_SDK_VERSION_MINOR << ")" << std::endl;
        return EXIT_OK;
    }
    if (_helpRequested)
    {
        Poco::Util::HelpFormatter help(options());
        help.setCommand(commandName());
        help.setUsage("[--config=FILE] [--define=KEY=VALUE…] [--format=json|table] [config check | user create "
                      "--username=… --email=… --phone=… --password=… | user list | user disable --username=…|--id=… | "
                      "user delete --username=…|--id=… | migrate status | migrate up | commands | a command of a "
                      "plugin, e.g. outbox list [--status=…], outbox retry [--id=…]]");
        help.setHeader("The identity host: CloudBase auth v1 compatible, with plugins.");
        help.format(std::cout);
        return EXIT_OK;
    }
    try
    {
        if (!args.empty())
        {
            // A command ends on Ctrl-C like any other.
            const sigset_t signals = servingSignals();
            pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
        }
        if (args.size() == 2 && args[0] == "config" && args[1] == "check")
            return checkConfiguration();
        if (!_configError.empty())
        {
            logger().fatal(_configError);
            std::cerr << "identity-host: " << _configError << std::endl;
            return EXIT_CONFIG;
        }
        if (args.size() == 2 && args[0] == "user" && args[1] == "create")
            return createUser();
        const std::string format = _userFields.count("format") ? _userFields["format"] : "json";
        if (args.size() == 2 && (args[0] == "user" || args[0] == "migrate"))
        {
            AdminCommands commands(config(), format, std::cout, std::cerr);
            if (args[0] == "user" && args[1] == "list")
                return commands.userList();
            if (args[0] == "user" && args[1] == "disable")
                return commands.userDisable(_userFields["id"], _userFields["username"]);
            if (args[0] == "migrate" && args[1] == "status")
                return commands.migrateStatus();
            if (args[0] == "migrate" && args[1] == "up")
                return commands.migrateUp();
        }
        if (!args.empty())
            return pluginCommand(args, format);
        return serve();
    }
    catch (const sdk::StorageUnavailable& error)
    {
        // Why, not only "503": a wrong password, an unknown database, a server that is not there.
        logger().fatal("cannot use the database: " + error.why());
        std::cerr << "identity-host: cannot use the database: " << error.why() << std::endl;
        return EXIT_UNAVAILABLE;
    }
    catch (const Poco::Exception& error)
    {
        logger().fatal(error.displayText());
        std::cerr << "identity-host: " << error.displayText() << std::endl;
        return EXIT_CONFIG;
    }
    catch (const std::exception& error)
    {
        logger().fatal(error.what());
        std::cerr << "identity-host: " << error.what() << std::endl;
        return EXIT_SOFTWARE;
    }
}

} // namespace identity::host

#include "app/HostApplication.h"

#include "app/IdentityServer.h"
#include "app/JsonLogFormatter.h"
#include "support/SystemClock.h"

#include <Poco/AsyncChannel.h>
#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/File.h>
#include <Poco/FileChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/Path.h>
#include <Poco/Util/HelpFormatter.h>
#include <Poco/Util/JSONConfiguration.h>
#include <Poco/Util/MapConfiguration.h>

#include <iostream>

namespace identity::host
{

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
}

void HostApplication::handleOption(const std::string& name, const std::string& value)
{
    ServerApplication::handleOption(name, value);
    if (name == "help")
    {
        _helpRequested = true;
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

void HostApplication::initialize(Poco::Util::Application& self)
{
    if (!_helpRequested)
    {
        // The file first, then the command line's overrides above it.
        Poco::AutoPtr<Poco::Util::JSONConfiguration> file(new Poco::Util::JSONConfiguration(_configFile));
        config().add(file, PRIO_APPLICATION, false);
        Poco::AutoPtr<Poco::Util::MapConfiguration> overrides(new Poco::Util::MapConfiguration);
        for (const auto& define : _defines)
            overrides->setString(define.first, define.second);
        config().add(overrides, PRIO_APPLICATION - 10, false);
        configureLogging();
    }
    ServerApplication::initialize(self);
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

int HostApplication::main(const std::vector<std::string>& args)
{
    if (_helpRequested)
    {
        Poco::Util::HelpFormatter help(options());
        help.setCommand(commandName());
        help.setUsage("[--config=FILE] [--define=KEY=VALUE…] [user create --username=… --email=… --phone=… "
                      "--password=…]");
        help.setHeader("The identity host: CloudBase auth v1 compatible, with plugins.");
        help.format(std::cout);
        return EXIT_OK;
    }
    try
    {
        if (args.size() == 2 && args[0] == "user" && args[1] == "create")
            return createUser();
        if (!args.empty())
        {
            std::cerr << "unknown command; see --help" << std::endl;
            return EXIT_USAGE;
        }
        SystemClock clock;
        IdentityServer server(config(), clock);
        server.start();
        waitForTerminationRequest();
        logger().information("stopping: draining requests in flight");
        server.stop();
        return EXIT_OK;
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

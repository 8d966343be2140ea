#pragma once

#include <Poco/JSON/Object.h>
#include <Poco/Util/LayeredConfiguration.h>
#include <Poco/Util/ServerApplication.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace identity::host
{

class IdentityServer;

/// The `identity-host` process: options, configuration, logging, and either serving until SIGTERM or
/// SIGINT (SIGHUP reloads the configuration) or running a command (`user create`).
class HostApplication : public Poco::Util::ServerApplication
{
protected:
    void initialize(Poco::Util::Application& self) override;
    void defineOptions(Poco::Util::OptionSet& options) override;
    void handleOption(const std::string& name, const std::string& value) override;
    int main(const std::vector<std::string>& args) override;

private:
    void configureLogging();
    /// `user delete` and the commands plugins add (AdminCommand), with the plugins loaded, not serving.
    int pluginCommand(const std::vector<std::string>& args, const std::string& format);
    int createUser();
    int serve();

    int checkConfiguration();

    /// The configuration file with the command line's `--define`s applied, validated: throws
    /// Poco::DataException naming every problem.
    Poco::JSON::Object::Ptr validConfiguration() const;

    /// Adds a validated configuration document to `config`.
    static void addConfiguration(Poco::Util::LayeredConfiguration& config, const Poco::JSON::Object::Ptr& document);

    /// Reads the configuration file again and hands it to the server; an invalid one is refused with
    /// one log line and the running configuration stays.
    void reloadConfiguration(IdentityServer& server);

    std::mutex _reloading;
    std::string _configError; ///< why the configuration given at start is unusable ("" when it is valid)
    bool _versionRequested = false;
    bool _helpRequested = false;
    std::string _configFile = "config/dev.json";
    std::vector<std::pair<std::string, std::string>> _defines;
    std::map<std::string, std::string> _userFields;
};

} // namespace identity::host

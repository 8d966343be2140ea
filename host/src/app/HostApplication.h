#pragma once

#include <Poco/Util/ServerApplication.h>

#include <map>
#include <string>
#include <vector>

namespace identity::host
{

/// The `identity-host` process: options, configuration, logging, and either serving until SIGTERM or
/// SIGINT or running a command (`user create`).
class HostApplication : public Poco::Util::ServerApplication
{
protected:
    void initialize(Poco::Util::Application& self) override;
    void defineOptions(Poco::Util::OptionSet& options) override;
    void handleOption(const std::string& name, const std::string& value) override;
    int main(const std::vector<std::string>& args) override;

private:
    void configureLogging();
    int createUser();

    bool _helpRequested = false;
    std::string _configFile = "config/dev.json";
    std::vector<std::pair<std::string, std::string>> _defines;
    std::map<std::string, std::string> _userFields;
};

} // namespace identity::host

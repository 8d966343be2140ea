#include "app/ConfigurationValues.h"

namespace identity::host
{

namespace
{
void collect(const Poco::Util::AbstractConfiguration& config, const std::string& prefix,
             std::map<std::string, std::string>& values)
{
    Poco::Util::AbstractConfiguration::Keys keys;
    config.keys(prefix, keys);
    if (keys.empty())
    {
        if (!prefix.empty() && config.has(prefix))
            values[prefix] = config.getString(prefix);
        return;
    }
    for (const std::string& key : keys)
    {
        if (prefix.empty() && (key == "system" || key == "application"))
            continue;
        collect(config, prefix.empty() ? key : prefix + "." + key, values);
    }
}
} // namespace

std::map<std::string, std::string> configurationValues(const Poco::Util::AbstractConfiguration& config,
                                                       const std::string& prefix)
{
    std::map<std::string, std::string> values;
    collect(config, prefix, values);
    return values;
}

} // namespace identity::host

#pragma once

#include <Poco/JSON/Object.h>

#include <map>
#include <string>

namespace identity::host
{

/// A plugin's `plugin.json` (schema/plugin.schema.json): what to load and how it was built.
struct PluginManifest
{
    std::string name;
    std::string version;
    int sdkMajor = 0;
    int sdkMinor = 0;
    std::string libraryPath; ///< absolute, resolved against the manifest's folder
    std::string className;
    std::string description;
    Poco::JSON::Object::Ptr defaultConfig = new Poco::JSON::Object;
    Poco::JSON::Object::Ptr configSchema; ///< null when the manifest has none
    std::string folder;                   ///< absolute folder of the manifest file
    /// The plugin's migration folders by dialect ("sqlite", "postgresql"), absolute; empty when it keeps
    /// no tables.
    std::map<std::string, std::string> migrationFolders;

    /// A path from the manifest, relative to its folder unless absolute.
    std::string resolve(const std::string& path) const;

    /// Reads and checks a manifest file; throws Poco::DataException naming the problem.
    static PluginManifest load(const std::string& path);
};

} // namespace identity::host

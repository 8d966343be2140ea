#include "plugins/PluginManifest.h"

#include <Poco/Exception.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Parser.h>
#include <Poco/NumberParser.h>
#include <Poco/Path.h>
#include <Poco/StringTokenizer.h>

namespace identity::host
{

namespace
{
std::string requiredString(const Poco::JSON::Object& object, const std::string& key, const std::string& path)
{
    if (!object.has(key) || !object.get(key).isString() || object.getValue<std::string>(key).empty())
        throw Poco::DataException("plugin manifest " + path + ": \"" + key + "\" must be a non-empty string");
    return object.getValue<std::string>(key);
}
} // namespace

std::string PluginManifest::resolve(const std::string& path) const
{
    Poco::Path resolved(path);
    if (resolved.isRelative())
        resolved = Poco::Path(Poco::Path(folder), resolved);
    return resolved.toString();
}

PluginManifest PluginManifest::load(const std::string& path)
{
    Poco::JSON::Object::Ptr object;
    try
    {
        Poco::FileInputStream in(path);
        Poco::JSON::Parser parser;
        object = parser.parse(in).extract<Poco::JSON::Object::Ptr>();
    }
    catch (const Poco::Exception& error)
    {
        throw Poco::DataException("cannot read plugin manifest " + path + ": " + error.displayText());
    }
    catch (const std::exception&)
    {
        throw Poco::DataException("plugin manifest " + path + " is not a JSON object");
    }

    PluginManifest manifest;
    manifest.name = requiredString(*object, "name", path);
    manifest.version = requiredString(*object, "version", path);
    manifest.className = requiredString(*object, "class", path);
    manifest.description = object->optValue<std::string>("description", "");
    const std::string sdk = requiredString(*object, "sdk_version", path);
    Poco::StringTokenizer parts(sdk, ".");
    if (parts.count() < 2 || !Poco::NumberParser::tryParse(parts[0], manifest.sdkMajor) ||
        !Poco::NumberParser::tryParse(parts[1], manifest.sdkMinor))
        throw Poco::DataException("plugin manifest " + path + ": \"sdk_version\" must be MAJOR.MINOR");
    manifest.folder = Poco::Path(path).absolute().parent().toString();
    manifest.libraryPath = manifest.resolve(requiredString(*object, "library", path));
    if (object->has("config_schema"))
    {
        if (!object->isObject("config_schema"))
            throw Poco::DataException("plugin manifest " + path + ": \"config_schema\" must be an object");
        manifest.configSchema = object->getObject("config_schema");
    }
    if (object->has("default_config"))
    {
        if (!object->isObject("default_config"))
            throw Poco::DataException("plugin manifest " + path + ": \"default_config\" must be an object");
        manifest.defaultConfig = object->getObject("default_config");
    }
    if (object->has("migrations"))
    {
        if (!object->isObject("migrations"))
            throw Poco::DataException("plugin manifest " + path + ": \"migrations\" must be an object");
        const auto migrations = object->getObject("migrations");
        for (const auto& [dialect, folder] : *migrations)
        {
            if ((dialect != "sqlite" && dialect != "postgresql") || !folder.isString() ||
                folder.extract<std::string>().empty())
                throw Poco::DataException("plugin manifest " + path +
                                          ": \"migrations\" maps \"sqlite\" and \"postgresql\" to folders");
            manifest.migrationFolders[dialect] = manifest.resolve(folder.extract<std::string>());
        }
    }
    return manifest;
}

} // namespace identity::host

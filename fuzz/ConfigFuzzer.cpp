// The host's configuration loader and validator on a JSON configuration file from the fuzzer, the way
// the host reads one (HostApplication::validConfiguration, then its layered configuration):
// ConfigValidator::document, ::check, the document written out and loaded as a JSONConfiguration over
// the system's, HostSettings::read and configurationValues. Properties: document() refuses only with
// Poco::DataException; check() lists problems and never throws; a document it finds valid loads as a
// configuration, and reading the settings from it throws at most a Poco::Exception (which the host
// reports as a configuration error), never anything else.
//
// Plugin manifests: a manifest named "plugin.json" is the repository's (so the plugin's schema is
// checked too); any other path is replaced by one that does not exist, so that a mutated path never
// makes the validator read /dev/zero or the like.
#include "FuzzSupport.h"

#include "app/ConfigValidator.h"
#include "app/ConfigurationValues.h"
#include "app/HostSettings.h"

#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/TemporaryFile.h>
#include <Poco/Util/JSONConfiguration.h>
#include <Poco/Util/LayeredConfiguration.h>
#include <Poco/Util/SystemConfiguration.h>

#include <sstream>

using namespace identity;

namespace
{
const std::string& configFile()
{
    // Never destroyed: the exit handler below still needs it.
    static const std::string* path = new std::string(Poco::TemporaryFile::tempName() + "-fuzz-config.json");
    return *path;
}

void pinManifests(const Poco::JSON::Object::Ptr& document)
{
    if (!document->isObject("plugins"))
        return;
    Poco::JSON::Object::Ptr plugins = document->getObject("plugins");
    for (const auto& [name, value] : *plugins)
    {
        if (value.type() != typeid(Poco::JSON::Object::Ptr))
            continue;
        Poco::JSON::Object::Ptr plugin = value.extract<Poco::JSON::Object::Ptr>();
        if (!plugin->has("manifest"))
            continue;
        const Poco::Dynamic::Var manifest = plugin->get("manifest");
        if (!manifest.isString())
            continue;
        plugin->set("manifest", manifest.extract<std::string>() == "plugin.json"
                                    ? std::string(IDENTITY_SOURCE_DIR) + "/plugin.json"
                                    : std::string("/nonexistent/fuzz/plugin.json"));
    }
}
} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    std::atexit([] { Poco::File(configFile()).remove(); });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size)
{
    {
        Poco::FileOutputStream out(configFile(), std::ios::out | std::ios::trunc | std::ios::binary);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    Poco::JSON::Object::Ptr document;
    try
    {
        document = host::ConfigValidator::document(configFile(), {});
    }
    catch (const Poco::DataException&)
    {
        return 0; // not a JSON object: the documented refusal
    }
    FUZZ_REQUIRE(!document.isNull());
    pinManifests(document);

    std::vector<host::ConfigValidator::Problem> problems;
    try
    {
        problems = host::ConfigValidator::check(document);
    }
    catch (const Poco::Exception& error)
    {
        std::fprintf(stderr, "ConfigValidator::check threw: %s\n", error.displayText().c_str());
        FUZZ_REQUIRE(!"ConfigValidator::check threw");
    }
    catch (const std::exception& error)
    {
        std::fprintf(stderr, "ConfigValidator::check threw: %s\n", error.what());
        FUZZ_REQUIRE(!"ConfigValidator::check threw");
    }
    if (!problems.empty())
    {
        for (const auto& problem : problems)
            FUZZ_REQUIRE(!problem.message.empty());
        return 0;
    }

    // Valid: what the host runs on.
    std::ostringstream text;
    document->stringify(text);
    std::istringstream in(text.str());
    Poco::AutoPtr<Poco::Util::LayeredConfiguration> config(new Poco::Util::LayeredConfiguration);
    config->add(new Poco::Util::SystemConfiguration, -100, false);
    Poco::AutoPtr<Poco::Util::JSONConfiguration> layer(new Poco::Util::JSONConfiguration);
    try
    {
        layer->load(in);
    }
    catch (...)
    {
        FUZZ_REQUIRE(!"a valid document does not load as a configuration");
    }
    config->add(layer, 0, false);
    try
    {
        const host::HostSettings settings = host::HostSettings::read(*config);
        FUZZ_REQUIRE(settings.clients.count(settings.environmentId) == 1);
        FUZZ_REQUIRE(settings.port >= 0 && settings.port <= 65535);
    }
    catch (const Poco::Exception&)
    {
        // a configuration error the host reports, naming the key
    }
    catch (...)
    {
        FUZZ_REQUIRE(!"HostSettings::read threw something other than a Poco::Exception");
    }
    try
    {
        host::configurationValues(*config);
    }
    catch (const Poco::Exception&)
    {
    }
    catch (...)
    {
        FUZZ_REQUIRE(!"configurationValues threw something other than a Poco::Exception");
    }
    return 0;
}

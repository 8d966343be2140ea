#include "plugins/PluginGeneration.h"

#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <Poco/SharedLibrary.h>

namespace identity::host
{

namespace
{
std::string versionText(unsigned major, unsigned minor) { return std::to_string(major) + "." + std::to_string(minor); }
} // namespace

PluginGeneration::PluginGeneration(const PluginManifest& manifest, PluginLoader& loader,
                                   std::unique_ptr<HostPluginContext> context)
    : _manifest(manifest), _loader(loader), _context(std::move(context))
{
}

void PluginGeneration::checkLibraryVersion() const
{
    Poco::SharedLibrary library(_manifest.libraryPath);
    if (!library.hasSymbol(IDENTITY_SDK_VERSION_SYMBOL))
    {
        library.unload();
        throw Poco::LibraryLoadException("plugin '" + _manifest.name + "': " + _manifest.libraryPath +
                                         " does not export " IDENTITY_SDK_VERSION_SYMBOL " (not built with the SDK)");
    }
    using VersionFunction = unsigned (*)();
    const unsigned version = reinterpret_cast<VersionFunction>(library.getSymbol(IDENTITY_SDK_VERSION_SYMBOL))();
    library.unload();
    const unsigned major = version >> 16, minor = version & 0xffff;
    if (major != IDENTITY_SDK_VERSION_MAJOR || minor > IDENTITY_SDK_VERSION_MINOR)
        throw Poco::LibraryLoadException("plugin '" + _manifest.name + "' was built against SDK " +
                                         versionText(major, minor) + "; this host provides SDK " +
                                         versionText(IDENTITY_SDK_VERSION_MAJOR, IDENTITY_SDK_VERSION_MINOR) +
                                         " (the major versions must match and the minor must not be newer)");
}

std::shared_ptr<PluginGeneration> PluginGeneration::start(const PluginManifest& manifest, PluginLoader& loader,
                                                          std::unique_ptr<HostPluginContext> context)
{
    if (manifest.sdkMajor != IDENTITY_SDK_VERSION_MAJOR || manifest.sdkMinor > IDENTITY_SDK_VERSION_MINOR)
        throw Poco::LibraryLoadException("plugin '" + manifest.name + "' declares SDK " +
                                         versionText(manifest.sdkMajor, manifest.sdkMinor) +
                                         "; this host provides SDK " +
                                         versionText(IDENTITY_SDK_VERSION_MAJOR, IDENTITY_SDK_VERSION_MINOR) +
                                         " (the major versions must match and the minor must not be newer)");

    std::shared_ptr<PluginGeneration> generation(new PluginGeneration(manifest, loader, std::move(context)));
    generation->checkLibraryVersion();
    loader.loadLibrary(manifest.libraryPath);
    generation->_loaded = true;

    const auto* libraryManifest = loader.findManifest(manifest.libraryPath);
    if (!libraryManifest)
        throw Poco::NotFoundException("plugin '" + manifest.name + "': its library has no manifest");
    auto meta = libraryManifest->find(manifest.className);
    if (meta == libraryManifest->end())
        throw Poco::NotFoundException("plugin '" + manifest.name + "': its library exports no class '" +
                                      manifest.className + "'");
    generation->_plugin = meta->create();
    try
    {
        generation->_plugin->start(*generation->_context);
    }
    catch (const Poco::Exception& error)
    {
        throw Poco::RuntimeException("plugin '" + manifest.name + "' failed to start: " + error.displayText());
    }
    catch (const std::exception& error)
    {
        throw Poco::RuntimeException("plugin '" + manifest.name + "' failed to start: " + error.what());
    }
    return generation;
}

PluginGeneration::~PluginGeneration()
{
    auto& logger = Poco::Logger::get("identity.plugins");
    if (_plugin)
    {
        try
        {
            _plugin->stop();
        }
        catch (const std::exception& error)
        {
            logger.error("plugin '%s' failed to stop cleanly: %s", _manifest.name, std::string(error.what()));
        }
    }
    _context->clear();
    delete _plugin;
    if (_loaded)
    {
        try
        {
            _loader.unloadLibrary(_manifest.libraryPath);
        }
        catch (const Poco::Exception& error)
        {
            logger.error("plugin '%s': unloading failed: %s", _manifest.name, error.displayText());
        }
    }
}

} // namespace identity::host

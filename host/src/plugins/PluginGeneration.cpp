#include "plugins/PluginGeneration.h"

#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Logger.h>

#include <dlfcn.h>

namespace identity::host
{

namespace
{
std::string versionText(unsigned major, unsigned minor) { return std::to_string(major) + "." + std::to_string(minor); }

std::string incompatibility(unsigned major, unsigned minor)
{
    return "; this host provides SDK " + versionText(IDENTITY_SDK_VERSION_MAJOR, IDENTITY_SDK_VERSION_MINOR) +
           " (the major versions must match and the minor must not be newer)";
}

bool compatible(unsigned major, unsigned minor)
{
    return major == IDENTITY_SDK_VERSION_MAJOR && minor <= IDENTITY_SDK_VERSION_MINOR;
}

/// Runs `action`, turning whatever plugin code threw into a message.
template <typename Action> std::string failureOf(Action&& action)
{
    try
    {
        action();
        return {};
    }
    catch (const Poco::Exception& error)
    {
        return error.displayText();
    }
    catch (const std::exception& error)
    {
        return error.what();
    }
    catch (...)
    {
        return "an exception that is not a std::exception";
    }
}

/// dlopen with RTLD_NOW|RTLD_LOCAL: a library with an unresolved symbol is refused here, instead of
/// killing the process at its first call (Poco loads lazily). Closed when it goes out of scope.
class ResolvedLibrary
{
public:
    explicit ResolvedLibrary(const std::string& path) : _handle(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL))
    {
        if (!_handle)
        {
            const char* error = dlerror();
            throw Poco::LibraryLoadException(error ? error : path);
        }
    }
    ~ResolvedLibrary() { dlclose(_handle); }
    ResolvedLibrary(const ResolvedLibrary&) = delete;
    ResolvedLibrary& operator=(const ResolvedLibrary&) = delete;

    void* symbol(const char* name) const { return dlsym(_handle, name); }

private:
    void* _handle;
};
} // namespace

void PluginGeneration::PluginDeleter::operator()(sdk::Plugin* plugin) const
{
    const std::string failure = failureOf([plugin] { delete plugin; });
    if (!failure.empty())
        Poco::Logger::get("identity.plugins").error("plugin '%s' threw from its destructor: %s", name, failure);
}

PluginGeneration::PluginGeneration(const PluginManifest& manifest, PluginLoader& loader,
                                   std::unique_ptr<HostPluginContext> context, std::string loadedFrom, unsigned number)
    : _manifest(manifest), _loader(loader), _context(std::move(context)), _loadedFrom(std::move(loadedFrom)),
      _number(number), _plugin(nullptr, PluginDeleter{manifest.name})
{
}

std::shared_ptr<PluginGeneration> PluginGeneration::start(const PluginManifest& manifest, PluginLoader& loader,
                                                          std::unique_ptr<HostPluginContext> context,
                                                          const std::string& privateCopy, unsigned number)
{
    if (!compatible(static_cast<unsigned>(manifest.sdkMajor), static_cast<unsigned>(manifest.sdkMinor)))
        throw Poco::LibraryLoadException("plugin '" + manifest.name + "' declares SDK " +
                                         versionText(manifest.sdkMajor, manifest.sdkMinor) +
                                         incompatibility(manifest.sdkMajor, manifest.sdkMinor));
    if (!Poco::File(manifest.libraryPath).exists())
        throw Poco::FileNotFoundException("plugin '" + manifest.name + "': no library at " + manifest.libraryPath);

    std::shared_ptr<PluginGeneration> generation(
        new PluginGeneration(manifest, loader, std::move(context), privateCopy, number));
    generation->load();
    return generation;
}

void PluginGeneration::load()
{
    const std::string& name = _manifest.name;
    Poco::File(_manifest.libraryPath).copyTo(_loadedFrom);
    // The mapping keeps the image; the file is not needed once loaded, and nothing is left behind.
    struct RemoveCopy
    {
        const std::string& path;
        ~RemoveCopy()
        {
            try
            {
                Poco::File(path).remove();
            }
            catch (...)
            {
            }
        }
    } removeCopy{_loadedFrom};

    std::unique_ptr<ResolvedLibrary> resolved;
    try
    {
        resolved = std::make_unique<ResolvedLibrary>(_loadedFrom);
    }
    catch (const Poco::Exception& error)
    {
        throw Poco::LibraryLoadException("plugin '" + name + "': cannot load " + _manifest.libraryPath + ": " +
                                         error.message());
    }
    void* versionSymbol = resolved->symbol(IDENTITY_SDK_VERSION_SYMBOL);
    if (!versionSymbol)
        throw Poco::LibraryLoadException("plugin '" + name + "': " + _manifest.libraryPath +
                                         " does not export " IDENTITY_SDK_VERSION_SYMBOL " (not built with the SDK)");
    using VersionFunction = unsigned (*)();
    const unsigned version = reinterpret_cast<VersionFunction>(versionSymbol)();
    if (!compatible(version >> 16, version & 0xffff))
        throw Poco::LibraryLoadException("plugin '" + name + "' was built against SDK " +
                                         versionText(version >> 16, version & 0xffff) +
                                         incompatibility(version >> 16, version & 0xffff));

    _loader.loadLibrary(_loadedFrom);
    _loaded = true;
    resolved.reset();

    const auto* libraryManifest = _loader.findManifest(_loadedFrom);
    if (!libraryManifest)
        throw Poco::NotFoundException("plugin '" + name + "': its library has no manifest");
    auto meta = libraryManifest->find(_manifest.className);
    if (meta == libraryManifest->end())
        throw Poco::NotFoundException("plugin '" + name + "': its library exports no class '" +
                                      _manifest.className + "'");
    std::string failure = failureOf([&] { _plugin.reset(meta->create()); });
    if (failure.empty())
        failure = failureOf([&] { _plugin->start(*_context); });
    if (!failure.empty())
        throw Poco::RuntimeException("plugin '" + name + "' failed to start: " + failure);
    _loadedAt.update();
}

void PluginGeneration::stopPlugin() noexcept
{
    if (!_plugin)
        return;
    const std::string failure = failureOf([this] { _plugin->stop(); });
    if (!failure.empty())
        Poco::Logger::get("identity.plugins").error("plugin '%s' failed to stop cleanly: %s", _manifest.name, failure);
}

PluginGeneration::~PluginGeneration()
{
    stopPlugin();
    _context->clear();
    _plugin.reset();
    if (_loaded)
    {
        try
        {
            _loader.unloadLibrary(_loadedFrom);
        }
        catch (const Poco::Exception& error)
        {
            Poco::Logger::get("identity.plugins")
                .error("plugin '%s': unloading failed: %s", _manifest.name, error.displayText());
        }
    }
}

} // namespace identity::host

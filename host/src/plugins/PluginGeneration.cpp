#include "plugins/PluginGeneration.h"

#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Logger.h>

#include <Poco/FileStream.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <set>

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

/// A library is at most this large (the reauthenticate plugin is about 1 MiB).
constexpr off_t maxLibraryBytes = 256 * 1024 * 1024;

/// Copies the library into the private file. Only a regular file, read through one descriptor (so a
/// link swapped meanwhile changes nothing), opened without blocking (a FIFO cannot hang the load),
/// and no larger than maxLibraryBytes (a link to /dev/zero cannot fill the disk).
void copyLibrary(const std::string& source, const std::string& target)
{
    const int in = ::open(source.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (in < 0)
        throw Poco::OpenFileException("cannot open " + source + ": " + std::strerror(errno));
    struct Closer
    {
        int fd;
        ~Closer() { ::close(fd); }
    } closeIn{in};
    struct stat info;
    if (::fstat(in, &info) != 0 || !S_ISREG(info.st_mode))
        throw Poco::OpenFileException(source + " is not a regular file");
    if (info.st_size > maxLibraryBytes)
        throw Poco::OpenFileException(source + " is larger than " + std::to_string(maxLibraryBytes) + " bytes");
    const int out = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        throw Poco::CreateFileException("cannot create " + target + ": " + std::strerror(errno));
    Closer closeOut{out};
    char buffer[65536];
    off_t copied = 0;
    for (;;)
    {
        const ssize_t got = ::read(in, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            throw Poco::ReadFileException("cannot read " + source + ": " + std::strerror(errno));
        if (got == 0)
            break;
        copied += got;
        if (copied > maxLibraryBytes)
            throw Poco::ReadFileException(source + " grew past " + std::to_string(maxLibraryBytes) + " bytes");
        for (ssize_t written = 0; written < got;)
        {
            const ssize_t put = ::write(out, buffer + written, static_cast<std::size_t>(got - written));
            if (put < 0 && errno == EINTR)
                continue;
            if (put < 0)
                throw Poco::WriteFileException("cannot write " + target + ": " + std::strerror(errno));
            written += put;
        }
    }
}

/// glibc maps a library's segments as its headers describe them and faults on what lies past the end
/// of a truncated file (a build half-written by a linker): check that every header, segment and
/// section the file names is inside it before dlopen sees it.
void requireCompleteElf(const std::string& path)
{
    Poco::FileInputStream in(path);
    std::string image((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto size = static_cast<Elf64_Off>(image.size());
    auto inside = [size](Elf64_Off offset, Elf64_Off length) { return offset <= size && length <= size - offset; };
    Elf64_Ehdr header;
    if (image.size() < sizeof header || image.compare(0, SELFMAG, ELFMAG) != 0)
        throw Poco::LibraryLoadException("not an ELF file");
    std::memcpy(&header, image.data(), sizeof header);
    if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_type != ET_DYN || header.e_phentsize != sizeof(Elf64_Phdr))
        throw Poco::LibraryLoadException("not a 64-bit ELF shared object");
    if (!inside(header.e_phoff, Elf64_Off(header.e_phnum) * sizeof(Elf64_Phdr)))
        throw Poco::LibraryLoadException("truncated: the program headers lie past the end of the file");
    for (Elf64_Half i = 0; i < header.e_phnum; ++i)
    {
        Elf64_Phdr segment;
        std::memcpy(&segment, image.data() + header.e_phoff + i * sizeof segment, sizeof segment);
        if (segment.p_type == PT_LOAD && !inside(segment.p_offset, segment.p_filesz))
            throw Poco::LibraryLoadException("truncated: a segment lies past the end of the file");
    }
    if (header.e_shnum && !inside(header.e_shoff, Elf64_Off(header.e_shnum) * header.e_shentsize))
        throw Poco::LibraryLoadException("truncated: the section headers lie past the end of the file");

    // What it exports. A plugin must export its entry points only (identity_add_plugin's version
    // script): with any other symbol exported, a new build loaded beside this one may bind to it and
    // run old code; with a GNU unique symbol, dlclose keeps it loaded for good.
    // Fails closed: a plugin always has a dynamic symbol table (it exports its entry points).
    const auto unreadable = [] {
        return Poco::LibraryLoadException("its dynamic symbol table cannot be read: build it with identity_add_plugin");
    };
    if (header.e_shentsize != sizeof(Elf64_Shdr) || header.e_shnum == 0)
        throw unreadable();
    bool symbolsChecked = false;
    for (Elf64_Half i = 0; i < header.e_shnum; ++i)
    {
        Elf64_Shdr section;
        std::memcpy(&section, image.data() + header.e_shoff + i * sizeof section, sizeof section);
        if (section.sh_type != SHT_DYNSYM)
            continue;
        if (section.sh_entsize != sizeof(Elf64_Sym) || section.sh_link >= header.e_shnum)
            throw unreadable();
        symbolsChecked = true;
        Elf64_Shdr strings;
        std::memcpy(&strings, image.data() + header.e_shoff + section.sh_link * sizeof strings, sizeof strings);
        if (!inside(section.sh_offset, section.sh_size) || !inside(strings.sh_offset, strings.sh_size))
            throw Poco::LibraryLoadException("truncated: the symbol table lies past the end of the file");
        static const std::set<std::string> entryPoints = {"pocoBuildManifest", "pocoInitializeLibrary",
                                                          "pocoUninitializeLibrary", IDENTITY_SDK_VERSION_SYMBOL};
        std::size_t others = 0;
        std::string example;
        for (Elf64_Off at = 0; at + sizeof(Elf64_Sym) <= section.sh_size; at += sizeof(Elf64_Sym))
        {
            Elf64_Sym symbol;
            std::memcpy(&symbol, image.data() + section.sh_offset + at, sizeof symbol);
            if (symbol.st_shndx == SHN_UNDEF || symbol.st_name >= strings.sh_size)
                continue;
            const char* start = image.data() + strings.sh_offset + symbol.st_name;
            const std::string name(start, strnlen(start, strings.sh_size - symbol.st_name));
            const unsigned binding = ELF64_ST_BIND(symbol.st_info);
            if (binding == STB_GNU_UNIQUE)
                throw Poco::LibraryLoadException("it has GNU unique symbols (" + name +
                                                 "), so it could never be unloaded: build it with identity_add_plugin "
                                                 "(-fno-gnu-unique)");
            if ((binding == STB_GLOBAL || binding == STB_WEAK) && !name.empty() && !entryPoints.count(name))
            {
                ++others;
                example = name;
            }
        }
        if (others > 0)
            throw Poco::LibraryLoadException("it exports " + std::to_string(others) + " symbols besides its entry points (" +
                                             example + ", …), so a new build could bind to this one: build it with "
                                             "identity_add_plugin (hidden visibility and its version script)");
    }
    if (!symbolsChecked)
        throw unreadable();
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
        copyLibrary(_manifest.libraryPath, _loadedFrom); // a partial copy is removed too
        requireCompleteElf(_loadedFrom);
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

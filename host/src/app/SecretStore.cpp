#include "app/SecretStore.h"

#include "identity/sdk/Crypto.h"

#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/Path.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>

#include <cerrno>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace identity::host
{

std::string SecretStore::readSecretFile(const std::string& path)
{
    constexpr off_t limit = 64 * 1024;
    // Opened without blocking (a FIFO would wait for a writer forever) and checked on the open file.
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        throw Poco::DataException("cannot open the secret file " + path);
    struct stat info{};
    std::string content;
    bool ok = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size <= limit;
    if (ok)
    {
        content.resize(static_cast<std::size_t>(limit) + 1);
        std::size_t read = 0;
        for (;;)
        {
            const ssize_t n = ::read(fd, content.data() + read, content.size() - read);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                ok = false;
            if (n <= 0)
                break;
            read += static_cast<std::size_t>(n);
            if (read == content.size())
            {
                ok = false; // grew past the limit while read
                break;
            }
        }
        content.resize(read);
    }
    ::close(fd);
    if (!ok)
        throw Poco::DataException("the secret file " + path + " is not a readable regular file of at most 64 KiB");
    return Poco::trim(content);
}

SecretStore::SecretStore(std::string file, bool generate, sdk::SecureRandom& random)
    : _file(std::move(file)), _generate(generate), _random(random)
{
}

std::string SecretStore::resolve(const std::string& name, const std::string& configured)
{
    std::string value = Poco::trim(configured);
    if (value.rfind("file:", 0) == 0)
        value = readSecretFile(value.substr(5));
    if (!value.empty() && value.find("${") == std::string::npos)
    {
        if (value.size() < 32)
            throw Poco::InvalidArgumentException("secret '" + name + "' is shorter than 32 bytes");
        return value;
    }
    if (!_generate)
        throw Poco::InvalidArgumentException("secret '" + name +
                                             "' is not set (configure it, e.g. from the environment)");

    std::lock_guard<std::mutex> lock(_mutex);
    Poco::JSON::Object::Ptr secrets = new Poco::JSON::Object;
    Poco::File file(_file);
    if (file.exists())
    {
        Poco::FileInputStream in(_file);
        Poco::JSON::Parser parser;
        secrets = parser.parse(in).extract<Poco::JSON::Object::Ptr>();
    }
    if (secrets->has(name))
        return secrets->getValue<std::string>(name);

    const std::string generated = sdk::crypto::toHex(_random.bytes(32));
    secrets->set(name, generated);
    const Poco::Path parent = Poco::Path(_file).parent();
    if (!parent.toString().empty())
        Poco::File(parent).createDirectories();
    // Write a new file with mode 0600, then rename it over the old one. Its name is random and it must
    // not exist yet (O_EXCL, which also refuses a symbolic link in its place): a file or link planted
    // beside the secrets file is never written through.
    const std::string temporary = _file + ".tmp-" + sdk::crypto::toHex(_random.bytes(8));
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        throw Poco::FileException("cannot write secrets file", _file);
    std::ostringstream text;
    secrets->stringify(text, 2);
    const std::string content = text.str();
    const bool written = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
                         ::fsync(fd) == 0;
    ::close(fd);
    if (!written || ::rename(temporary.c_str(), _file.c_str()) != 0)
    {
        ::unlink(temporary.c_str());
        throw Poco::FileException("cannot write secrets file", _file);
    }
    // The rename itself is durable only once the folder is: without this, a power loss can bring back
    // the old file (or none), and a secret already handed out (a token key) would be lost.
    const std::string folder = parent.toString().empty() ? std::string(".") : parent.toString();
    const int directory = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const bool synced = directory >= 0 && ::fsync(directory) == 0;
    if (directory >= 0)
        ::close(directory);
    if (!synced)
        throw Poco::FileException("cannot make the secrets file durable", _file);
    Poco::Logger::get("identity.host")
        .warning("generated development secret '%s' and kept it in %s; set it in the configuration for production",
                 name, _file);
    return generated;
}

} // namespace identity::host

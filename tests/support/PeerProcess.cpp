#include "support/PeerProcess.h"

#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Parser.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>
#include <Poco/TemporaryFile.h>

#include <chrono>
#include <csignal>
#include <thread>

namespace identity::test
{

namespace
{
std::string read(const std::string& path)
{
    Poco::FileInputStream in(path);
    std::string text;
    Poco::StreamCopier::copyToString(in, text);
    return text;
}
} // namespace

std::string PeerProcess::script(const std::string& name) { return std::string(IDENTITY_SOURCE_DIR) + "/tests/peers/" + name; }

void PeerProcess::makeCertificate(const std::string& folder, const std::string& name,
                                  const std::string& subjectAltName)
{
    Poco::ProcessHandle handle = Poco::Process::launch("/bin/sh", {script("make_cert.sh"), folder, name, subjectAltName},
                                                       nullptr, nullptr, nullptr);
    if (handle.wait() != 0)
        throw Poco::RuntimeException("make_cert.sh failed");
}

PeerProcess::PeerProcess(const std::string& name, std::vector<std::string> args, double startSeconds)
    : _portFile(Poco::TemporaryFile::tempName())
{
    args.insert(args.begin(), script(name));
    args.push_back("--port-file");
    args.push_back(_portFile);
    _process = new Poco::ProcessHandle(Poco::Process::launch("/usr/bin/python3", args, nullptr, nullptr, nullptr));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(startSeconds);
    while (_port.empty())
    {
        if (Poco::File(_portFile).exists())
            _port = Poco::trim(read(_portFile));
        if (!_port.empty())
            break;
        if (std::chrono::steady_clock::now() > deadline || !Poco::Process::isRunning(*_process))
        {
            stop();
            throw Poco::RuntimeException(name + " did not start");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

PeerProcess::~PeerProcess() { stop(); }

void PeerProcess::stop()
{
    if (!_process)
        return;
    ::kill(_process->id(), SIGTERM);
    _process->wait();
    delete _process;
    _process = nullptr;
    Poco::File(_portFile).remove();
}

long jsonNumber(const std::string& file, const std::string& key)
{
    if (!Poco::File(file).exists())
        return 0;
    Poco::JSON::Parser parser;
    const auto object = parser.parse(read(file)).extract<Poco::JSON::Object::Ptr>();
    return object->optValue<long>(key, 0);
}

} // namespace identity::test

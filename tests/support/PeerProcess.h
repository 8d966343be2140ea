#pragma once

#include <Poco/Process.h>

#include <string>
#include <vector>

namespace identity::test
{

/// A real protocol peer (SMTP server, webhook receiver, Kannel) from tests/peers/, started for one
/// test and stopped by PID (SIGTERM, then waited for) when this object goes away.
class PeerProcess
{
public:
    /// Runs `/usr/bin/python3 tests/peers/<script> <args…> --port-file <file>` and waits until the
    /// port file appears.
    PeerProcess(const std::string& script, std::vector<std::string> args, double startSeconds = 30);
    ~PeerProcess();

    PeerProcess(const PeerProcess&) = delete;
    PeerProcess& operator=(const PeerProcess&) = delete;

    /// The port file's content, trimmed (a port number, or JSON for Kannel).
    const std::string& port() const { return _port; }

    void stop();

    /// tests/peers/<name>
    static std::string script(const std::string& name);

    /// Makes a throwaway CA and a certificate for 127.0.0.1 in `folder` (ca.pem, <name>.pem, <name>.key);
    /// `subjectAltName` names another holder (e.g. "DNS:evil.test").
    static void makeCertificate(const std::string& folder, const std::string& name = "server",
                                const std::string& subjectAltName = "IP:127.0.0.1,DNS:localhost");

private:
    std::string _portFile;
    std::string _port;
    Poco::ProcessHandle* _process = nullptr;
};

/// A JSON file's integer field (0 when absent), for the peers' stats files.
long jsonNumber(const std::string& file, const std::string& key);

} // namespace identity::test

// Messages per second through the SMTP notifier to a real SMTP server on loopback (aiosmtpd with
// STARTTLS and AUTH, tests/peers/smtp_server.py): one session kept for all messages, against a new
// session (TCP, STARTTLS handshake, AUTH) per message.
//
//   identity-smtp-bench [--messages=N]
#include "notifiers/SmtpNotifier.h"
#include "support/PeerProcess.h"

#include <Poco/File.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/TemporaryFile.h>
#include <Poco/Util/MapConfiguration.h>

#include <chrono>
#include <cstdio>
#include <cstring>

using namespace identity;

int main(int argc, char** argv)
{
    int messages = 200;
    for (int i = 1; i < argc; ++i)
        if (std::strncmp(argv[i], "--messages=", 11) == 0)
            messages = std::atoi(argv[i] + 11);
    Poco::Net::initializeSSL();
    const std::string folder = Poco::TemporaryFile::tempName();
    Poco::File(folder).createDirectories();
    test::PeerProcess::makeCertificate(folder);

    for (const bool reuse : {true, false})
    {
        test::PeerProcess server("smtp_server.py",
                                 {"--mode", "starttls", "--cert", folder + "/server.pem", "--key", folder + "/server.key",
                                  "--user", "mailer", "--password", "Mailer-Secret-1", "--stats",
                                  folder + "/stats.json"});
        Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
        config->setString("host", "127.0.0.1");
        config->setString("port", server.port());
        config->setString("tls", "starttls");
        config->setString("username", "mailer");
        config->setString("password", "Mailer-Secret-1");
        config->setString("ca_file", folder + "/ca.pem");
        config->setString("from", "no-reply@example.com");
        config->setBool("reuse_connection", reuse);
        reauth::SmtpNotifier smtp(*config);

        sdk::Message message;
        message.channel = "email";
        message.to = "alice@example.com";
        message.subject = "Your Identity verification code";
        message.text = "Your verification code is:\n\n123456\n\nIt expires in 5 minutes.\n";
        message.html = "<p>Your verification code is:</p><p>123456</p>";
        const auto started = std::chrono::steady_clock::now();
        for (int n = 0; n < messages; ++n)
        {
            message.id = "bench-" + std::to_string(n);
            smtp.send(message);
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::printf("%-34s messages=%-5d connections=%-5d %8.1f messages/s  %6.2f ms each\n",
                    reuse ? "one session for all messages" : "one session per message", messages,
                    test::jsonNumber(folder + "/stats.json", "connections") > 0
                        ? static_cast<int>(test::jsonNumber(folder + "/stats.json", "connections"))
                        : smtp.connections(),
                    messages / seconds, 1000 * seconds / messages);
    }
    Poco::File(folder).remove(true);
    Poco::Net::uninitializeSSL();
    return 0;
}

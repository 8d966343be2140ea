#pragma once

#include "app/IdentityServer.h"
#include "support/SystemClock.h"
#include "support/TestDatabase.h"

#include <Poco/JSON/Object.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/Util/MapConfiguration.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace identity::test
{

/// Where server logs and the secrets tests handled are written (IDENTITY_TEST_LOG_DIR).
std::string logDirectory();

/// Appends a secret the test handled (code, token, password, address) to the list the log hygiene
/// check looks for in every log line.
void recordSecret(const std::string& secret);

struct HttpResult
{
    int status = 0;
    std::string body;
    Poco::JSON::Object::Ptr json; ///< null when the body is not a JSON object
    Poco::Net::NameValueCollection headers;

    std::string string(const std::string& key) const;
    int errorCode() const;
};

/// A real identity host, in this process, on a loopback port the kernel picked, with its own SQLite
/// file, mail folder and SMS log in a fresh temporary folder, the real reauthenticate plugin loaded, and
/// a manual clock. Configuration keys can be overridden per test.
using Overrides = std::map<std::string, std::string>;

class TestServer
{
public:
    explicit TestServer(const Overrides& overrides = {});
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;
    ~TestServer();

    host::ManualClock& clock() { return _clock; }
    /// The configuration the server was started with, as key-value pairs.
    std::map<std::string, std::string> settings() const;
    host::IdentityServer& server() { return *_server; }
    const std::string& folder() const { return _folder; }

    /// Creates a user through the same path as the command line; returns the id.
    std::string createUser(const std::string& username, const std::string& email, const std::string& phone,
                           const std::string& password = "Correct-Horse-9");

    HttpResult request(const std::string& method, const std::string& path, const std::string& body = "",
                       const std::vector<std::pair<std::string, std::string>>& headers = {},
                       const std::string& contentType = "application/json");

    HttpResult post(const std::string& path, const std::string& body, const std::string& accessToken = "");

    /// Signs in and returns the access token (asserts success).
    std::string signIn(const std::string& username, const std::string& password = "Correct-Horse-9");

    /// Asks for a code (asserts 200) and waits until its message is delivered; returns the code.
    std::string requestCode(const std::string& accessToken, const std::string& verifyOpt = "email_code");

    /// Waits (up to a deadline) for the n-th delivered email / SMS and returns the code in it.
    std::string waitForEmailCode(std::size_t n);
    std::string waitForSmsCode(std::size_t n);
    std::size_t emailCount() const;
    std::size_t smsCount() const;

    /// The text of the newest delivered email, raw.
    std::string newestEmail() const;

    /// Every delivered email, raw, in the order of their file names.
    std::vector<std::string> emails() const;

    /// An email's subject, its RFC 2047 encoded words (UTF-8, B or Q) decoded.
    static std::string subjectOf(const std::string& mail);

    /// Runs one SQL query returning a single integer.
    long long queryInt(const std::string& sql);

private:
    std::string _folder;
    std::unique_ptr<TestDatabase> _database; // before the server: it outlives its connections
    host::ManualClock _clock;
    Poco::AutoPtr<Poco::Util::MapConfiguration> _config;
    std::unique_ptr<host::IdentityServer> _server;
};

/// Waits until `condition` holds or `seconds` pass; false on timeout.
bool waitFor(const std::function<bool()>& condition, double seconds = 10);

} // namespace identity::test

#include "support/TestServer.h"

#include "app/ConfigurationValues.h"

#include <Poco/Base64Decoder.h>
#include <Poco/DirectoryIterator.h>
#include <Poco/Environment.h>
#include <Poco/File.h>
#include <Poco/FileStream.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Path.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>
#include <Poco/TemporaryFile.h>

#include <cppunit/TestAssert.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

namespace identity::test
{

std::string logDirectory() { return Poco::Environment::get("IDENTITY_TEST_LOG_DIR", "test-logs"); }

void recordSecret(const std::string& secret)
{
    static std::mutex mutex;
    std::lock_guard<std::mutex> lock(mutex);
    std::ofstream out(logDirectory() + "/secrets.txt", std::ios::app);
    out << secret << "\n";
}

bool waitFor(const std::function<bool()>& condition, double seconds)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!condition())
    {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

std::string HttpResult::string(const std::string& key) const
{
    return json && json->has(key) ? json->getValue<std::string>(key) : std::string();
}

int HttpResult::errorCode() const { return json && json->has("error_code") ? json->getValue<int>("error_code") : 0; }

namespace
{
std::vector<std::string> filesIn(const std::string& folder, const std::string& suffix)
{
    std::vector<std::string> names;
    if (!Poco::File(folder).exists())
        return names;
    for (Poco::DirectoryIterator it(folder), end; it != end; ++it)
        if (it.name().size() > suffix.size() && it.name().compare(it.name().size() - suffix.size(), suffix.size(), suffix) == 0)
            names.push_back(it.path().toString());
    std::sort(names.begin(), names.end());
    return names;
}

std::string readFile(const std::string& path)
{
    Poco::FileInputStream in(path);
    std::string text;
    Poco::StreamCopier::copyToString(in, text);
    return text;
}

std::string codeIn(const std::string& text)
{
    std::smatch match;
    static const std::regex sixDigits("(^|[^0-9])([0-9]{6})([^0-9]|$)");
    CPPUNIT_ASSERT_MESSAGE("the message holds a 6-digit code", std::regex_search(text, match, sixDigits));
    recordSecret(match[2]);
    return match[2];
}

/// The code in an email: the templates put it alone on a line of the text part. (Searching the whole
/// message would also find digit runs in the MIME boundary or the Message-ID.)
std::string codeInEmail(const std::string& mail)
{
    std::istringstream in(mail);
    for (std::string line; std::getline(in, line);)
    {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.size() == 6 && std::all_of(line.begin(), line.end(), [](char c) { return c >= '0' && c <= '9'; }))
        {
            recordSecret(line);
            return line;
        }
    }
    CPPUNIT_FAIL("the email holds no code line");
    return {};
}

std::vector<std::string> smsLines(const std::string& path)
{
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
        if (!line.empty())
            lines.push_back(line);
    return lines;
}
} // namespace

TestServer::TestServer(const Overrides& overrides)
    : _folder(Poco::TemporaryFile::tempName()), _clock(static_cast<Poco::Int64>(std::time(nullptr)) * 1000),
      _config(new Poco::Util::MapConfiguration)
{
    Poco::File(_folder).createDirectories();
    _database = std::make_unique<TestDatabase>(_folder);
    const std::map<std::string, std::string> defaults = {
        {"server.host", "127.0.0.1"},
        {"server.port", "0"},
        {"server.threads", "32"},
        {"environment.id", "dev"},
        {"environment.clients[0]", "dev"},
        {"environment.clients[1]", "web"},
        {"storage.url", _database->url()},
        {"secrets.file", _folder + "/secrets.json"},
        {"secrets.generate", "true"},
        {"tokens.issuer", "http://127.0.0.1:8080"},
        {"tokens.audience", "dev"},
        {"plugins.reauthenticate.manifest", std::string(IDENTITY_PLUGIN_DIR) + "/reauthenticate/plugin.json"},
        {"plugins.reauthenticate.enabled", "true"},
        {"plugins.reauthenticate.config.email.notifier", "maildir"},
        {"plugins.reauthenticate.config.email.maildir.path", _folder + "/mail"},
        {"plugins.reauthenticate.config.sms.notifier", "log"},
        {"plugins.reauthenticate.config.sms.log.path", _folder + "/sms.log"},
        {"plugins.reauthenticate.config.delivery.poll_ms", "50"},
        // The suites sign in from 127.0.0.1 far faster than any client would, and 40 at once: the
        // per-address throttle is off and every worker may wait for hashing (AuthFlowTest turns both on).
        {"passwords.signins_per_minute", "0"},
        {"passwords.hash_waiting", "64"},
    };
    for (const auto& entry : defaults)
        _config->setString(entry.first, entry.second);
    for (const auto& entry : overrides)
        _config->setString(entry.first, entry.second);
    try
    {
        _server = std::make_unique<host::IdentityServer>(*_config, _clock);
        _server->start();
    }
    catch (...)
    {
        // No destructor runs for a constructor that throws: leave no folder behind.
        _server.reset();
        Poco::File(_folder).remove(true);
        throw;
    }
}

std::map<std::string, std::string> TestServer::settings() const { return host::configurationValues(*_config); }

TestServer::~TestServer()
{
    _server.reset();
    try
    {
        Poco::File(_folder).remove(true);
    }
    catch (...)
    {
    }
}

std::string TestServer::createUser(const std::string& username, const std::string& email, const std::string& phone,
                                   const std::string& password)
{
    host::User user;
    user.username = username;
    user.email = email;
    user.phoneNumber = phone;
    recordSecret(password);
    if (!email.empty())
        recordSecret(email);
    if (!phone.empty())
        recordSecret(phone);
    return _server->createUser(user, password);
}

HttpResult TestServer::request(const std::string& method, const std::string& path, const std::string& body,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               const std::string& contentType)
{
    Poco::Net::HTTPClientSession session("127.0.0.1", _server->port());
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& header : headers)
        request.add(header.first, header.second); // a name given twice is sent on two lines
    if (!body.empty())
    {
        request.setContentType(contentType);
        request.setContentLength64(static_cast<Poco::Int64>(body.size()));
    }
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    HttpResult result;
    result.status = response.getStatus();
    Poco::StreamCopier::copyToString(in, result.body);
    for (const auto& header : response)
        result.headers.add(header.first, header.second);
    try
    {
        Poco::JSON::Parser parser;
        result.json = parser.parse(result.body).extract<Poco::JSON::Object::Ptr>();
    }
    catch (...)
    {
    }
    return result;
}

HttpResult TestServer::post(const std::string& path, const std::string& body, const std::string& accessToken)
{
    std::vector<std::pair<std::string, std::string>> headers;
    if (!accessToken.empty())
        headers.emplace_back("Authorization", "Bearer " + accessToken);
    return request("POST", path, body, headers);
}

std::string TestServer::signIn(const std::string& username, const std::string& password)
{
    const HttpResult result =
        post("/auth/v1/signin", "{\"username\":\"" + username + "\",\"password\":\"" + password + "\"}");
    CPPUNIT_ASSERT_EQUAL_MESSAGE(result.body, 200, result.status);
    recordSecret(result.string("access_token"));
    recordSecret(result.string("refresh_token"));
    return result.string("access_token");
}

std::string TestServer::requestCode(const std::string& accessToken, const std::string& verifyOpt)
{
    const bool email = verifyOpt == "email_code";
    const std::size_t before = email ? emailCount() : smsCount();
    const HttpResult result =
        post("/auth/v1/user/reauthenticate", "{\"verify_opt\":\"" + verifyOpt + "\"}", accessToken);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(result.body, 200, result.status);
    CPPUNIT_ASSERT_EQUAL(std::string("{}"), result.body);
    return email ? waitForEmailCode(before + 1) : waitForSmsCode(before + 1);
}

std::size_t TestServer::emailCount() const { return filesIn(_folder + "/mail/new", "").size(); }

std::size_t TestServer::smsCount() const { return smsLines(_folder + "/sms.log").size(); }

std::string TestServer::waitForEmailCode(std::size_t n)
{
    CPPUNIT_ASSERT_MESSAGE("email delivered", waitFor([&] { return emailCount() >= n; }));
    return codeInEmail(readFile(filesIn(_folder + "/mail/new", "")[n - 1]));
}

std::string TestServer::waitForSmsCode(std::size_t n)
{
    CPPUNIT_ASSERT_MESSAGE("SMS delivered", waitFor([&] { return smsCount() >= n; }));
    Poco::JSON::Parser parser;
    const auto line = parser.parse(smsLines(_folder + "/sms.log")[n - 1]).extract<Poco::JSON::Object::Ptr>();
    return codeIn(line->getValue<std::string>("text"));
}

std::string TestServer::newestEmail() const
{
    const auto files = filesIn(_folder + "/mail/new", "");
    return files.empty() ? std::string() : readFile(files.back());
}

std::vector<std::string> TestServer::emails() const
{
    std::vector<std::string> mails;
    for (const std::string& file : filesIn(_folder + "/mail/new", ""))
        mails.push_back(readFile(file));
    return mails;
}

std::string TestServer::subjectOf(const std::string& mail)
{
    const std::size_t start = mail.find("\nSubject: ");
    if (start == std::string::npos)
        return {};
    // The header with its folded continuation lines.
    std::string header;
    std::size_t at = start + 10;
    for (;;)
    {
        const std::size_t end = mail.find('\n', at);
        header += mail.substr(at, end - at);
        if (end == std::string::npos || (mail[end + 1] != ' ' && mail[end + 1] != '\t'))
            break;
        at = end + 1;
    }
    Poco::trimInPlace(header);
    std::string subject;
    static const std::regex word(R"(=\?[Uu][Tt][Ff]-8\?([BbQq])\?([^?]*)\?=)");
    std::size_t position = 0;
    for (std::sregex_iterator it(header.begin(), header.end(), word), end; it != end; ++it)
    {
        const std::string between = header.substr(position, static_cast<std::size_t>(it->position()) - position);
        if (between.find_first_not_of(" \t\r") != std::string::npos)
            subject += between; // white space between two encoded words is not text
        const std::string text = (*it)[2];
        if ((*it)[1] == "B" || (*it)[1] == "b")
        {
            std::istringstream in(text);
            Poco::Base64Decoder decoder(in);
            subject.append(std::istreambuf_iterator<char>(decoder), std::istreambuf_iterator<char>());
        }
        else
            for (std::size_t i = 0; i < text.size(); ++i)
                if (text[i] == '_')
                    subject += ' ';
                else if (text[i] == '=' && i + 2 < text.size())
                {
                    subject += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
                    i += 2;
                }
                else
                    subject += text[i];
        position = static_cast<std::size_t>(it->position() + it->length());
    }
    subject += header.substr(position);
    Poco::trimRightInPlace(subject);
    return subject;
}

long long TestServer::queryInt(const std::string& sql)
{
    long long value = 0;
    _server->database().read([&](sdk::Transaction& transaction) {
        const sdk::Result result = transaction.execute(sql);
        value = result.empty() ? 0 : result.front().integer(0);
    });
    return value;
}

} // namespace identity::test

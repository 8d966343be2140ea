// The Kannel delivery-report handler (GET /hooks/kannel/dlr) with a query string from the fuzzer,
// decoded as the host decodes one (Poco::URI, the first value of a repeated name), over a real SQLite
// database holding two messages. The first input byte picks what the target does with the query:
// bit 0 puts in the right signature for the query's id and nonce (so the checks behind it are
// reached), bit 1 sends the request a second time, bit 2 has the message delivered first (a real,
// signed report with status 1 and the query's nonce). Every input starts from the same rows.
//
// Properties: the answer is 200 `{}`, 400 4001 or 403 4030, and nothing else; a 400 or 403 changes
// no row; with the right signature, well-formed parameters and a status of 1–31, the answer is 200;
// a report that was recorded is the report its status stands for; the same request again changes
// nothing (no row, no audit line); a final report is never replaced.
#include "FuzzSupport.h"

#include "delivery/DeliveryReportHandler.h"
#include "delivery/Outbox.h"
#include "notifiers/KannelSmsNotifier.h"
#include "support/PluginFixture.h"

#include "identity/sdk/ApiError.h"

#include <Poco/Exception.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/URI.h>

#include <map>

using namespace identity;

namespace
{
const std::string reportKey(32, 'k');
const char* const messageIds[] = {"m1", "m2"};

class QueryRequest : public sdk::Request
{
public:
    explicit QueryRequest(const Poco::Net::NameValueCollection& query) : _query(query) {}
    const std::string& method() const override { return _method; }
    const std::string& path() const override { return _path; }
    std::string header(const std::string&) const override { return {}; }
    std::string query(const std::string& name) const override { return _query.get(name, ""); }
    const Poco::JSON::Object& body() const override { return _body; }
    const std::string& clientAddress() const override { return _ip; }
    const std::string& requestId() const override { return _path; }
    const std::string& deviceId() const override { return _empty; }
    const std::string& clientId() const override { return _empty; }
    const std::string& locale() const override { return _locale; }
    const sdk::Principal* principal() const override { return nullptr; }

private:
    const Poco::Net::NameValueCollection& _query;
    std::string _method = "GET", _path = "/hooks/kannel/dlr", _ip = "127.0.0.1", _empty, _locale = "en";
    Poco::JSON::Object _body;
};

struct Fixture
{
    test::PluginFixture plugin;
    std::shared_ptr<reauth::Outbox> outbox = std::make_shared<reauth::Outbox>(plugin.storage());
    reauth::DeliveryReportHandler handler{plugin, outbox, reportKey};

    Fixture()
    {
        int phone = 0;
        for (const char* id : messageIds)
        {
            const std::string user = std::string("user-") + id;
            plugin.addUser(user, "", "+861380013800" + std::to_string(++phone));
            reauth::OutboxMessage message;
            message.id = id;
            message.codeId = std::string("code-") + id;
            message.userId = user;
            message.channel = "sms";
            message.destination = "+8613800138000";
            message.destinationMasked = "+86*******8000";
            message.locale = "en";
            message.sealedCode = "sealed";
            message.expiresAt = plugin.clock().now() + 300;
            plugin.database().write([&](sdk::Transaction& transaction)
                                    { outbox->enqueue(transaction, message, plugin.clock().now()); });
        }
    }

    /// Every message's report columns, by id: "report|reported_at|report_nonce|reports_seen".
    std::map<std::string, std::string> rows()
    {
        std::map<std::string, std::string> value;
        plugin.database().read(
            [&](sdk::Transaction& transaction)
            {
                for (const sdk::Row& row : transaction
                                               .execute("SELECT id, report, COALESCE(reported_at, 0), "
                                                        "report_nonce, reports_seen FROM outbox")
                                               .rows)
                    value[row.text(0)] = row.text(1) + "|" + std::to_string(row.integer(2)) + "|" +
                                         row.text(3) + "|" + std::to_string(row.integer(4));
            });
        return value;
    }

    static std::string reportIn(const std::string& line) { return line.substr(0, line.find('|')); }

    void reset()
    {
        plugin.database().write(
            [&](sdk::Transaction& transaction)
            {
                transaction.execute(
                    "UPDATE outbox SET report = '', reported_at = NULL, report_nonce = '', reports_seen = 0");
            });
    }
};

Fixture* fixture = nullptr;

/// "200", or the ApiError as "400 4001"; aborts on anything else.
std::string answer(const Poco::Net::NameValueCollection& query)
{
    sdk::Response response;
    try
    {
        fixture->handler(QueryRequest(query), response);
    }
    catch (const sdk::ApiError& error)
    {
        const std::string text = std::to_string(error.status()) + " " + std::to_string(error.errorCode());
        FUZZ_REQUIRE(text == "400 4001" || text == "403 4030");
        return text;
    }
    FUZZ_REQUIRE(response.status == 200 && response.body->size() == 0 && response.contentType.empty());
    return "200";
}

bool wellFormed(const Poco::Net::NameValueCollection& query)
{
    const std::string id = query.get("id", ""), nonce = query.get("nonce", ""), sig = query.get("sig", "");
    auto hex = [](const std::string& text, std::size_t length)
    { return text.size() == length && text.find_first_not_of("0123456789abcdef") == std::string::npos; };
    return !id.empty() && id.size() <= 64 &&
           id.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_") ==
               std::string::npos &&
           hex(nonce, 2 * reauth::KannelSmsNotifier::nonceBytes) && hex(sig, 64);
}
} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    fixture = new Fixture; // left for the process's exit: libFuzzer may stop anywhere
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size)
{
    if (size == 0)
        return 0;
    const unsigned char mode = data[0];
    Poco::Net::NameValueCollection query;
    try
    {
        const Poco::URI uri("/hooks/kannel/dlr?" +
                            std::string(reinterpret_cast<const char*>(data + 1), size - 1));
        for (const auto& [name, value] : uri.getQueryParameters())
            query.add(name, value);
    }
    catch (const Poco::Exception&)
    {
        return 0; // the host answers 400 before any handler
    }
    if (mode & 1)
    {
        const std::string id = query.get("id", ""), nonce = query.get("nonce", "");
        query.erase("sig");
        query.add("sig", reauth::KannelSmsNotifier::reportSignature(reportKey, id, nonce));
    }

    if (mode & 4)
    {
        Poco::Net::NameValueCollection delivered;
        delivered.add("id", query.get("id", ""));
        delivered.add("nonce", query.get("nonce", ""));
        delivered.add("sig", reauth::KannelSmsNotifier::reportSignature(reportKey, query.get("id", ""),
                                                                        query.get("nonce", "")));
        delivered.add("status", "1");
        answer(delivered);
    }
    const auto before = fixture->rows();
    const std::size_t audits = fixture->plugin.recordedAudit().events().size();
    const std::string first = answer(query);
    const auto after = fixture->rows();
    const std::optional<int> status = reauth::DeliveryReportHandler::parseStatus(query.get("status", ""));
    if (first != "200")
        FUZZ_REQUIRE(after == before);
    if ((mode & 1) && wellFormed(query) && status)
        FUZZ_REQUIRE(first == "200");
    FUZZ_REQUIRE(after.size() == before.size());
    std::size_t changed = 0;
    for (const auto& [id, line] : before)
    {
        const std::string now = after.at(id);
        if (now == line)
            continue;
        ++changed;
        // Only the reported message, only to the report its status stands for, never over a final one.
        FUZZ_REQUIRE(id == query.get("id", "") && status.has_value());
        FUZZ_REQUIRE(Fixture::reportIn(now) == reauth::DeliveryReportHandler::reportOf(*status));
        const std::string was = Fixture::reportIn(line);
        FUZZ_REQUIRE(was != "delivered" && was != "failed" && was != "rejected");
    }
    FUZZ_REQUIRE(changed <= 1);
    FUZZ_REQUIRE(fixture->plugin.recordedAudit().events().size() == audits + changed);
    if (mode & 2)
    {
        const std::size_t audited = fixture->plugin.recordedAudit().events().size();
        FUZZ_REQUIRE(answer(query) == first);
        FUZZ_REQUIRE(fixture->rows() == after);
        FUZZ_REQUIRE(fixture->plugin.recordedAudit().events().size() == audited);
    }
    if (changed || (mode & 4))
        fixture->reset();
    return 0;
}

// Kannel's delivery reports (GET /hooks/kannel/dlr) through DeliveryReportHandler and the outbox, on a
// real database (SQLite, and PostgreSQL in the _postgresql run): the report URL's nonce and signature,
// the range of `status`, and each report taken once (a replay, a forged status after a final report,
// a report with another nonce change nothing and learn nothing).
#include "support/PluginFixture.h"

#include "delivery/DeliveryReportHandler.h"
#include "delivery/Outbox.h"
#include "notifiers/KannelSmsNotifier.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

#include <cppunit/extensions/HelperMacros.h>

using namespace identity;
using namespace identity::test;

namespace
{
/// A report request as the gateway sends it: only the query matters.
class ReportRequest : public sdk::Request
{
public:
    explicit ReportRequest(std::map<std::string, std::string> query) : _query(std::move(query)) {}

    const std::string& method() const override { return _method; }
    const std::string& path() const override { return _path; }
    std::string header(const std::string&) const override { return {}; }
    std::string query(const std::string& name) const override
    {
        const auto found = _query.find(name);
        return found == _query.end() ? std::string() : found->second;
    }
    const Poco::JSON::Object& body() const override { return _body; }
    const std::string& clientAddress() const override { return _ip; }
    const std::string& requestId() const override { return _requestId; }
    const std::string& deviceId() const override { return _empty; }
    const std::string& clientId() const override { return _empty; }
    const std::string& locale() const override { return _locale; }
    const sdk::Principal* principal() const override { return nullptr; }

private:
    std::map<std::string, std::string> _query;
    std::string _method = "GET", _path = "/hooks/kannel/dlr", _ip = "127.0.0.1", _requestId = "test", _empty,
                _locale = "en";
    Poco::JSON::Object _body;
};
} // namespace

class DeliveryReportTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(DeliveryReportTest);
    CPPUNIT_TEST(testReportIsRecordedWithItsAuditLine);
    CPPUNIT_TEST(testForgedFailedAfterDeliveredChangesNothing);
    CPPUNIT_TEST(testReplayedReportChangesNothing);
    CPPUNIT_TEST(testLaterTypesAreRecordedUntilAFinalOne);
    CPPUNIT_TEST(testReportWithAnotherNonceChangesNothing);
    CPPUNIT_TEST(testStatusOutsideKannelsValuesIs400AndChangesNothing);
    CPPUNIT_TEST(testEveryKannelStatusIsAccepted);
    CPPUNIT_TEST(testBadSignatureIs403AndChangesNothing);
    CPPUNIT_TEST(testMalformedParametersAre400);
    CPPUNIT_TEST(testReportForAnErasedMessageIsNotOurs);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        _fixture = std::make_unique<PluginFixture>();
        _outbox = std::make_shared<reauth::Outbox>(_fixture->storage());
        _handler = std::make_unique<reauth::DeliveryReportHandler>(*_fixture, _outbox, _key);
        _fixture->addUser("u1", "", "+8613800138000");
        _id = addMessage("u1");
        _nonce = newNonce();
    }

    void tearDown() override
    {
        _handler.reset();
        _outbox.reset();
        _fixture.reset();
    }

    std::string addMessage(const std::string& userId)
    {
        reauth::OutboxMessage message;
        message.id = sdk::crypto::timeOrderedId();
        message.codeId = "code-" + message.id;
        message.userId = userId;
        message.channel = "sms";
        message.destination = "+8613800138000";
        message.destinationMasked = "+86*******8000";
        message.locale = "en";
        message.sealedCode = "sealed";
        message.expiresAt = _fixture->clock().now() + 300;
        _fixture->database().write([&](sdk::Transaction& transaction)
                                   { _outbox->enqueue(transaction, message, _fixture->clock().now()); });
        return message.id;
    }

    std::string newNonce()
    {
        return sdk::crypto::toHex(_fixture->random().bytes(reauth::KannelSmsNotifier::nonceBytes));
    }

    /// The query of the report URL the notifier gave the gateway, with Kannel's status filled in.
    std::map<std::string, std::string> signedQuery(const std::string& status, const std::string& id,
                                                   const std::string& nonce) const
    {
        return {{"id", id},
                {"nonce", nonce},
                {"sig", reauth::KannelSmsNotifier::reportSignature(_key, id, nonce)},
                {"status", status}};
    }
    std::map<std::string, std::string> signedQuery(const std::string& status) const
    {
        return signedQuery(status, _id, _nonce);
    }

    /// The handler's answer: 200 (with `{}`), or the ApiError's status and code as "400 4001".
    std::string answer(const std::map<std::string, std::string>& query)
    {
        sdk::Response response;
        try
        {
            (*_handler)(ReportRequest(query), response);
        }
        catch (const sdk::ApiError& error)
        {
            return std::to_string(error.status()) + " " + std::to_string(error.errorCode());
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), response.body->size());
        return std::to_string(response.status);
    }

    /// The row's report, when it was reported, and which types were taken, as one string.
    std::string row(const std::string& id)
    {
        std::string value;
        _fixture->database().read(
            [&](sdk::Transaction& transaction)
            {
                const sdk::Result result = transaction.execute(
                    "SELECT report, COALESCE(reported_at, 0), reports_seen FROM outbox WHERE id = $1",
                    {sdk::Value(id)});
                value = result.empty()
                            ? "gone"
                            : result.front().text(0) + "@" + std::to_string(result.front().integer(1)) +
                                  " seen " + std::to_string(result.front().integer(2));
            });
        return value;
    }
    std::string row() { return row(_id); }

    std::string at(const std::string& report, int seen)
    {
        return report + "@" + std::to_string(_fixture->clock().now()) + " seen " + std::to_string(seen);
    }

    void later() { _fixture->manualClock().advanceSeconds(5); }

    void testReportIsRecordedWithItsAuditLine()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("200"), answer(signedQuery("1")));
        CPPUNIT_ASSERT_EQUAL(at("delivered", 1), row());
        CPPUNIT_ASSERT(_fixture->recordedAudit().events() ==
                       std::vector<std::string>({"delivery_confirmed"}));
    }

    void testForgedFailedAfterDeliveredChangesNothing()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("200"), answer(signedQuery("1")));
        const std::string delivered = row();
        later();
        // The captured URL with another status: answered like any report, recorded nowhere.
        for (const char* forged : {"2", "16", "18", "4", "8"})
        {
            CPPUNIT_ASSERT_EQUAL(std::string("200"), answer(signedQuery(forged)));
            CPPUNIT_ASSERT_EQUAL(delivered, row());
        }
        CPPUNIT_ASSERT(_fixture->recordedAudit().events() ==
                       std::vector<std::string>({"delivery_confirmed"}));
    }

    void testReplayedReportChangesNothing()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("200"), answer(signedQuery("4")));
        const std::string buffered = at("buffered", 4);
        CPPUNIT_ASSERT_EQUAL(buffered, row());
        later();
        CPPUNIT_ASSERT_EQUAL(std::string("200"), answer(signedQuery("4")));
        CPPUNIT_ASSERT_EQUAL(buffered, row());
        CPPUNIT_ASSERT(_fixture->recordedAudit().events() == std::vector<std::string>({"delivery_report"}));
        // A final report replayed: the same.
        CPPUNIT_ASSERT_EQUAL(std::string("200"), answer(signedQuery("2")));
        const std::string failed = at("failed", 6);
        later();
        CPPUNIT_ASSERT_EQUAL(std::string("200"), answer(signedQuery("2")));
        CPPUNIT_ASSERT_EQUAL(failed, row());
        CPPUNIT_ASSERT(_fixture->recordedAudit().events() ==
                       std::vector<std::string>({"delivery_report", "delivery_report"}));
    }

    void testLaterTypesAreRecordedUntilAFinalOne()
    {
        // What Kannel sends for dlr-mask 31: the SMSC took it, it was buffered, then delivered.
        CPPUNIT_ASSERT_EQUAL(std::string("200"), answer(signedQuery("8")));
        CPPUNIT_ASSERT_EQUAL(at("accepted", 8), row());
        later();
        CPPUNIT_ASSERT_EQUAL(std::string("200"), answer(signedQuery("4")));
        CPPUNIT_ASSERT_EQUAL(at("buffered", 12), row());
        later();
        CPPUNIT_ASSERT_EQUAL(std::string("200"), answer(signedQuery("1")));
        CPPUNIT_ASSERT_EQUAL(at("delivered", 13), row());
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), _fixture->recordedAudit().events().size());
    }

    void testReportWithAnotherNonceChangesNothing()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("200"), answer(signedQuery("8")));
        const std::string accepted = row();
        later();
        // Signed, but for another sending of the message: the first accepted report's nonce is the one.
        CPPUNIT_ASSERT_EQUAL(std::string("200"), answer(signedQuery("2", _id, newNonce())));
        CPPUNIT_ASSERT_EQUAL(accepted, row());
        CPPUNIT_ASSERT_EQUAL(std::string("200"), answer(signedQuery("1")));
        CPPUNIT_ASSERT_EQUAL(at("delivered", 9), row());
    }

    void testStatusOutsideKannelsValuesIs400AndChangesNothing()
    {
        for (const char* status : {"-1", "0", "32", "33", "1x", "", "01", "+1", " 1", "1 ", "1.0", "0x1",
                                   "100", "4294967297", "-4294967295", "1e1", "١"})
        {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(status, std::string("400 4001"), answer(signedQuery(status)));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(status, std::string("@0 seen 0"), row());
        }
        CPPUNIT_ASSERT(_fixture->recordedAudit().events().empty());
    }

    void testEveryKannelStatusIsAccepted()
    {
        using reauth::DeliveryReportHandler;
        for (int status = 1; status <= 31; ++status)
            CPPUNIT_ASSERT(DeliveryReportHandler::parseStatus(std::to_string(status)) == status);
        CPPUNIT_ASSERT_EQUAL(std::string("delivered"), DeliveryReportHandler::reportOf(1));
        CPPUNIT_ASSERT_EQUAL(std::string("failed"), DeliveryReportHandler::reportOf(2));
        CPPUNIT_ASSERT_EQUAL(std::string("buffered"), DeliveryReportHandler::reportOf(4));
        CPPUNIT_ASSERT_EQUAL(std::string("accepted"), DeliveryReportHandler::reportOf(8));
        CPPUNIT_ASSERT_EQUAL(std::string("rejected"), DeliveryReportHandler::reportOf(16));
        CPPUNIT_ASSERT_EQUAL(std::string("failed"), DeliveryReportHandler::reportOf(18));
        CPPUNIT_ASSERT_EQUAL(std::string("rejected"), DeliveryReportHandler::reportOf(24));
        CPPUNIT_ASSERT_EQUAL(std::string("accepted"), DeliveryReportHandler::reportOf(12));
    }

    void testBadSignatureIs403AndChangesNothing()
    {
        const std::string otherId = addMessage("u1");
        std::vector<std::map<std::string, std::string>> forged;
        auto query = signedQuery("1");
        query["sig"] = std::string(64, '0');
        forged.push_back(query);
        query = signedQuery("1");
        query["sig"][0] = query["sig"][0] == 'a' ? 'b' : 'a';
        forged.push_back(query);
        query = signedQuery("1", otherId, _nonce); // another message's signature
        query["id"] = _id;
        forged.push_back(query);
        query = signedQuery("1");
        query["nonce"] = newNonce(); // the signature of another nonce
        forged.push_back(query);
        query = signedQuery("1");
        query["sig"] =
            sdk::crypto::toHex(sdk::crypto::hmacSha256(_key, "kannel-dlr|" + _id)); // the old scheme
        forged.push_back(query);
        query = signedQuery("1");
        query["sig"] =
            sdk::crypto::toHex(sdk::crypto::hmacSha256("another key", "kannel-dlr|v2|" + _id + "|" + _nonce));
        forged.push_back(query);
        for (const auto& bad : forged)
            CPPUNIT_ASSERT_EQUAL(std::string("403 4030"), answer(bad));
        CPPUNIT_ASSERT_EQUAL(std::string("@0 seen 0"), row());
        CPPUNIT_ASSERT(_fixture->recordedAudit().events().empty());
        // Still good afterwards.
        CPPUNIT_ASSERT_EQUAL(std::string("200"), answer(signedQuery("1")));
        CPPUNIT_ASSERT_EQUAL(at("delivered", 1), row());
    }

    void testMalformedParametersAre400()
    {
        auto without = [&](const std::string& name)
        {
            auto query = signedQuery("1");
            query.erase(name);
            return query;
        };
        auto with = [&](const std::string& name, const std::string& value)
        {
            auto query = signedQuery("1");
            query[name] = value;
            return query;
        };
        std::string upper = signedQuery("1")["sig"];
        for (char& c : upper)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        const std::vector<std::map<std::string, std::string>> malformed = {
            without("id"),
            without("nonce"),
            without("sig"),
            without("status"),
            with("id", std::string(65, 'a')),
            with("id", _id + "|x"),
            with("id", _id + "\n"),
            with("id", "a b"),
            with("nonce", _nonce.substr(1)),
            with("nonce", _nonce + "0"),
            with("nonce", std::string(32, 'g')),
            with("nonce", std::string(31, '0') + "A"),
            with("sig", upper),
            with("sig", upper.substr(2)),
            with("sig", std::string(64, 'x')),
            with("sig", signedQuery("1")["sig"] + "00")};
        for (const auto& query : malformed)
            CPPUNIT_ASSERT_EQUAL(std::string("400 4001"), answer(query));
        CPPUNIT_ASSERT_EQUAL(std::string("@0 seen 0"), row());
    }

    void testReportForAnErasedMessageIsNotOurs()
    {
        _fixture->database().write([&](sdk::Transaction& transaction)
                                   { _outbox->eraseUser(transaction, "u1"); });
        CPPUNIT_ASSERT_EQUAL(std::string("200"), answer(signedQuery("1")));
        CPPUNIT_ASSERT_EQUAL(std::string("gone"), row());
        CPPUNIT_ASSERT(_fixture->recordedAudit().events().empty());
    }

private:
    const std::string _key = std::string(32, 'k');
    std::unique_ptr<PluginFixture> _fixture;
    std::shared_ptr<reauth::Outbox> _outbox;
    std::unique_ptr<reauth::DeliveryReportHandler> _handler;
    std::string _id;
    std::string _nonce;
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(DeliveryReportTest, "DeliveryReportTest");

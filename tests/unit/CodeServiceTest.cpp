// The reauthenticate plugin's code life cycle on a real SQLite database, without a host: issue, read
// the queued message as the delivery worker would, verify once, burn after too many wrong tries.
#include "support/PluginFixture.h"

#include "codes/CodeService.h"
#include "delivery/DeliveryWorker.h"

#include "identity/sdk/ApiError.h"
#include "identity/sdk/Crypto.h"

#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>

#include <functional>
#include <map>
#include <utility>
#include <vector>

using namespace identity;

namespace
{
const std::string pepper = "code service test pepper, 32 bytes or more";
const std::string outboxKey = std::string(32, 'k');

struct Codes
{
    test::PluginFixture fixture;
    reauth::ReauthenticateSettings settings;
    std::shared_ptr<reauth::Outbox> outbox = std::make_shared<reauth::Outbox>(fixture.storage());
    std::unique_ptr<reauth::CodeService> service;
    sdk::Principal alice = fixture.addUser("alice", "alice@example.com", "");

    Codes()
    {
        settings.cooldownSeconds = 0;
        service = std::make_unique<reauth::CodeService>(fixture, settings, outbox, pepper, outboxKey, [](const std::string&) {});
    }

    /// Issues a code and returns it, opened from the outbox as the delivery worker does.
    std::string issue()
    {
        service->issue(alice, "email", alice.email, test::FixedRequest(alice));
        auto due = outbox->claimDue(fixture.clock().now(), 10, 30);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), due.size());
        const std::string code =
            sdk::crypto::aesGcmOpen(outboxKey, sdk::crypto::base64UrlDecode(due[0].sealedCode), due[0].id);
        outbox->markDelivered(due[0], fixture.clock().now());
        return code;
    }

    int verify(const std::string& code)
    {
        try
        {
            service->verify(alice, code, test::FixedRequest(alice));
            return 200;
        }
        catch (const sdk::ApiError& error)
        {
            return error.errorCode();
        }
    }
};

/// A provider that takes a second for each message, during which `during` runs (once).
class SlowProvider : public sdk::Notifier
{
public:
    SlowProvider(host::ManualClock& clock, std::vector<std::string>& sent, std::function<void()> during)
        : _clock(clock), _sent(sent), _during(std::move(during))
    {
    }

    void send(const sdk::Message& message) override
    {
        _sent.push_back(message.to);
        _clock.advanceSeconds(1);
        if (_during)
            std::exchange(_during, nullptr)();
    }

private:
    host::ManualClock& _clock;
    std::vector<std::string>& _sent;
    std::function<void()> _during;
};

std::string wrong(const std::string& code) { return code == "000000" ? "000001" : "000000"; }
} // namespace

class CodeServiceTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(CodeServiceTest);
    CPPUNIT_TEST(testCodeIsStoredOnlyAsItsPepperedHmac);
    CPPUNIT_TEST(testCodeVerifiesExactlyOnce);
    CPPUNIT_TEST(testWrongCodeFiveTimesBurnsIt);
    CPPUNIT_TEST(testExpiredCodeIsRefused);
    CPPUNIT_TEST(testNewCodeReplacesTheLiveOne);
    CPPUNIT_TEST(testANewCodeLeavesAWaitingNoticeAlone);
    CPPUNIT_TEST(testOnlyTheCurrentClaimRecordsAnOutcome);
    CPPUNIT_TEST(testPruningDropsWhatNoRuleNeedsAndKeepsTheRest);
    CPPUNIT_TEST(testNoRowsForAnAccountDeletedAMomentAgo);
    CPPUNIT_TEST(testCodeReplacedDuringASlowBatchIsNotSent);
    CPPUNIT_TEST_SUITE_END();

public:
    void testCodeIsStoredOnlyAsItsPepperedHmac()
    {
        Codes codes;
        const std::string code = codes.issue();
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), code.size());
        const std::string expected = codes.service->codeHash("alice", code);
        CPPUNIT_ASSERT_EQUAL(1LL, codes.fixture.count("SELECT COUNT(*) FROM verification_codes WHERE code_hash = '" +
                                                      expected + "'"));
        // Not the code, and not an unpeppered digest of it.
        const std::string plain = sdk::crypto::toHex(sdk::crypto::sha256(code));
        CPPUNIT_ASSERT_EQUAL(0LL, codes.fixture.count("SELECT COUNT(*) FROM verification_codes WHERE code_hash = '" +
                                                      plain + "' OR code_hash = '" + code + "'"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE("delivered: the sealed code is scrubbed", 0LL,
                                     codes.fixture.count("SELECT COUNT(*) FROM outbox WHERE payload IS NOT NULL"));
    }

    void testCodeVerifiesExactlyOnce()
    {
        Codes codes;
        const std::string code = codes.issue();
        CPPUNIT_ASSERT_EQUAL(200, codes.verify(code));
        CPPUNIT_ASSERT_EQUAL(4002, codes.verify(code));
    }

    void testWrongCodeFiveTimesBurnsIt()
    {
        Codes codes;
        const std::string code = codes.issue();
        for (int i = 0; i < 5; ++i)
            CPPUNIT_ASSERT_EQUAL(4002, codes.verify(wrong(code)));
        CPPUNIT_ASSERT_EQUAL_MESSAGE("burned: the right code no longer works", 4002, codes.verify(code));
        CPPUNIT_ASSERT_EQUAL(1LL, codes.fixture.count("SELECT COUNT(*) FROM verification_codes WHERE state = 'burned'"));
    }

    void testExpiredCodeIsRefused()
    {
        Codes codes;
        const std::string code = codes.issue();
        codes.fixture.manualClock().advanceSeconds(codes.settings.codeTtl);
        CPPUNIT_ASSERT_EQUAL(4002, codes.verify(code));
    }

    void testANewCodeLeavesAWaitingNoticeAlone()
    {
        Codes codes;
        reauth::AccountNotices notices(codes.outbox, true, [] {});
        sdk::AccountEvent changed;
        changed.kind = sdk::AccountEvent::Kind::PasswordChanged;
        changed.timestamp = codes.fixture.clock().now();
        changed.userId = codes.alice.userId;
        changed.email = "alice@example.com";
        changed.locale = "zh";
        codes.fixture.storage().write([&](sdk::Transaction& transaction) { notices.accountChanged(transaction, changed); });
        // A code asked for next replaces codes, not the notice: both are due.
        codes.service->issue(codes.alice, "email", codes.alice.email, test::FixedRequest(codes.alice));
        codes.service->issue(codes.alice, "email", codes.alice.email, test::FixedRequest(codes.alice));
        auto due = codes.outbox->claimDue(codes.fixture.clock().now(), 10, 30);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), due.size());
        const auto notice = std::find_if(due.begin(), due.end(), [](const reauth::OutboxMessage& message) {
            return message.kind == reauth::kinds::passwordChanged;
        });
        CPPUNIT_ASSERT(notice != due.end());
        CPPUNIT_ASSERT_EQUAL(std::string("zh"), notice->locale);
        CPPUNIT_ASSERT_EQUAL(std::string("alice@example.com"), notice->destination);
        CPPUNIT_ASSERT(notice->sealedCode.empty());
        CPPUNIT_ASSERT_EQUAL(changed.timestamp + reauth::AccountNotices::lifetimeSeconds, notice->expiresAt);
        // Without an email address, or with the email channel off, there is no notice.
        changed.email.clear();
        reauth::AccountNotices off(codes.outbox, false, [] {});
        sdk::AccountEvent withEmail = changed;
        withEmail.email = "alice@example.com";
        codes.fixture.storage().write([&](sdk::Transaction& transaction) {
            notices.accountChanged(transaction, changed);
            off.accountChanged(transaction, withEmail);
        });
        CPPUNIT_ASSERT(codes.outbox->claimDue(codes.fixture.clock().now(), 10, 30).empty());
    }

    void testNewCodeReplacesTheLiveOne()
    {
        Codes codes;
        const std::string first = codes.issue();
        const std::string second = codes.issue();
        if (first != second)
            CPPUNIT_ASSERT_EQUAL(4002, codes.verify(first));
        CPPUNIT_ASSERT_EQUAL(200, codes.verify(second));
    }

    void testNoRowsForAnAccountDeletedAMomentAgo()
    {
        // The request's session was checked before the account went: the send must still not leave a
        // code, a limit event or a message about it (no foreign key would catch them).
        Codes codes;
        codes.fixture.storage().write([&](sdk::Transaction& transaction) {
            transaction.execute("DELETE FROM users WHERE id = $1", {sdk::Value(codes.alice.userId)});
        });
        try
        {
            codes.service->issue(codes.alice, "email", codes.alice.email, test::FixedRequest(codes.alice));
            CPPUNIT_FAIL("a code was issued for a deleted account");
        }
        catch (const sdk::ApiError& error)
        {
            CPPUNIT_ASSERT_EQUAL(401, error.status());
        }
        CPPUNIT_ASSERT_EQUAL(0LL, codes.fixture.count("SELECT COUNT(*) FROM send_events"));
        CPPUNIT_ASSERT_EQUAL(0LL, codes.fixture.count("SELECT COUNT(*) FROM verification_codes"));
        CPPUNIT_ASSERT_EQUAL(0LL, codes.fixture.count("SELECT COUNT(*) FROM outbox"));
    }

    void testPruningDropsWhatNoRuleNeedsAndKeepsTheRest()
    {
        Codes codes;
        // A week and a day of traffic in an hour's steps, then one fresh send: what pruning may drop is
        // everything but the last hour of send events, live codes, and unfinished messages.
        const std::string code = codes.issue(); // delivered: a finished message
        CPPUNIT_ASSERT_EQUAL(200, codes.verify(code));
        codes.fixture.manualClock().advanceSeconds(8 * 24 * 3600);
        codes.service->issue(codes.alice, "email", codes.alice.email, test::FixedRequest(codes.alice));
        CPPUNIT_ASSERT_EQUAL(2LL, codes.fixture.count("SELECT COUNT(*) FROM send_events"));
        CPPUNIT_ASSERT_EQUAL(2LL, codes.fixture.count("SELECT COUNT(*) FROM verification_codes"));
        CPPUNIT_ASSERT_EQUAL(2LL, codes.fixture.count("SELECT COUNT(*) FROM outbox"));
        // A counter that holds nothing any more: a lock long over, no failures since.
        codes.fixture.storage().write([&](sdk::Transaction& transaction) {
            transaction.execute("INSERT INTO verification_failures(user_id, consecutive, locked_until) "
                                "VALUES ('gone', 0, 1), ('counting', 3, 0)");
        });

        const std::size_t removed = codes.outbox->prune(codes.fixture.clock().now(), 1000);
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), removed);
        CPPUNIT_ASSERT_EQUAL(1LL, codes.fixture.count("SELECT COUNT(*) FROM send_events"));
        CPPUNIT_ASSERT_EQUAL(1LL, codes.fixture.count("SELECT COUNT(*) FROM verification_codes WHERE state = 'live'"));
        CPPUNIT_ASSERT_EQUAL(0LL, codes.fixture.count("SELECT COUNT(*) FROM verification_codes WHERE state <> 'live'"));
        CPPUNIT_ASSERT_EQUAL(1LL, codes.fixture.count("SELECT COUNT(*) FROM outbox WHERE status = 'pending'"));
        CPPUNIT_ASSERT_EQUAL(0LL, codes.fixture.count("SELECT COUNT(*) FROM outbox WHERE status <> 'pending'"));
        CPPUNIT_ASSERT_EQUAL(1LL, codes.fixture.count("SELECT COUNT(*) FROM verification_failures"));
        // Batches: a flood is taken a batch per round.
        codes.fixture.storage().write([&](sdk::Transaction& transaction) {
            for (int i = 0; i < 25; ++i)
                transaction.execute("INSERT INTO send_events(user_id, ip, destination_hash, channel, created_at) "
                                    "VALUES ($1, '192.0.2.1', 'h', 'email', 0)",
                                    {sdk::Value("flood-" + std::to_string(i))});
        });
        CPPUNIT_ASSERT_EQUAL(std::size_t(10), codes.outbox->prune(codes.fixture.clock().now(), 10));
        CPPUNIT_ASSERT_EQUAL(16LL, codes.fixture.count("SELECT COUNT(*) FROM send_events"));
    }

    void testCodeReplacedDuringASlowBatchIsNotSent()
    {
        Codes codes;
        const sdk::Principal bob = codes.fixture.addUser("bob", "bob@example.com", "");
        codes.service->issue(codes.alice, "email", codes.alice.email, test::FixedRequest(codes.alice));
        codes.fixture.manualClock().advanceSeconds(1); // bob's message is due after alice's: second in the batch
        codes.service->issue(bob, "email", bob.email, test::FixedRequest(bob));
        // While alice's message is with the slow provider, bob asks again: his first code is replaced.
        std::vector<std::string> sent;
        std::map<std::string, sdk::NotifierPtr> notifiers;
        notifiers["email"] = std::make_unique<SlowProvider>(codes.fixture.manualClock(), sent, [&] {
            codes.service->issue(bob, "email", bob.email, test::FixedRequest(bob));
        });
        reauth::DeliveryWorker worker(codes.fixture, codes.settings, codes.outbox, outboxKey, std::move(notifiers),
                                      reauth::MessageTemplates("Test"));
        worker.deliverDue();
        // Claimed while live, replaced before its turn: not sent.
        CPPUNIT_ASSERT(sent == std::vector<std::string>({"alice@example.com"}));
        worker.deliverDue(); // the next round sends bob's new code
        CPPUNIT_ASSERT(sent == std::vector<std::string>({"alice@example.com", "bob@example.com"}));
        CPPUNIT_ASSERT_EQUAL(1LL, codes.fixture.count("SELECT COUNT(*) FROM outbox WHERE user_id = 'bob' AND "
                                                      "status = 'cancelled'"));
        CPPUNIT_ASSERT_EQUAL(2LL, codes.fixture.count("SELECT COUNT(*) FROM outbox WHERE status = 'delivered'"));
    }

    void testOnlyTheCurrentClaimRecordsAnOutcome()
    {
        // The outbox's claim protocol: a lease, given back when it runs out; a stale holder records nothing.
        Codes codes;
        codes.service->issue(codes.alice, "email", codes.alice.email, test::FixedRequest(codes.alice));
        auto first = codes.outbox->claimDue(codes.fixture.clock().now(), 10, 30);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), first.size());
        CPPUNIT_ASSERT(codes.outbox->claimDue(codes.fixture.clock().now(), 10, 30).empty());
        codes.fixture.manualClock().advanceSeconds(31);
        auto second = codes.outbox->claimDue(codes.fixture.clock().now(), 10, 30);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), second.size());
        CPPUNIT_ASSERT_MESSAGE("the stale claim records nothing",
                               !codes.outbox->markDelivered(first[0], codes.fixture.clock().now()));
        CPPUNIT_ASSERT(codes.outbox->markDelivered(second[0], codes.fixture.clock().now()));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(CodeServiceTest, "CodeServiceTest");

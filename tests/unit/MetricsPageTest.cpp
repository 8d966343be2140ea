#include "app/MetricsRegistry.h"

#include <Poco/Exception.h>

#include <cppunit/extensions/HelperMacros.h>

using namespace identity::host;

/// The /metrics page: what Prometheus' format requires of it, whatever plugins write.
class MetricsPageTest : public CppUnit::TestFixture
{
    CPPUNIT_TEST_SUITE(MetricsPageTest);
    CPPUNIT_TEST(testFamiliesAreWrittenOnceWithTheirSamplesTogether);
    CPPUNIT_TEST(testASeriesWrittenTwiceKeepsItsFirstValue);
    CPPUNIT_TEST(testACollectorPageMergesOnlyWhatFits);
    CPPUNIT_TEST(testLabelValuesAreEscapedAndBadNamesDropped);
    CPPUNIT_TEST(testCountersAreTheSameObjectForANameAndLabels);
    CPPUNIT_TEST(testTheLatencyHistogramIsCumulative);
    CPPUNIT_TEST_SUITE_END();

    static std::size_t count(const std::string& text, const std::string& what)
    {
        std::size_t n = 0;
        for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
            ++n;
        return n;
    }

public:
    void testFamiliesAreWrittenOnceWithTheirSamplesTogether()
    {
        MetricsPage page;
        page.counter("identity_x_total", "X.", 1, {{"k", "a"}});
        page.gauge("identity_y", "Y.", 2);
        page.counter("identity_x_total", "X.", 3, {{"k", "b"}});
        CPPUNIT_ASSERT_EQUAL(std::string("# HELP identity_x_total X.\n# TYPE identity_x_total counter\n"
                                         "identity_x_total{k=\"a\"} 1\nidentity_x_total{k=\"b\"} 3\n"
                                         "# HELP identity_y Y.\n# TYPE identity_y gauge\nidentity_y 2\n"),
                             page.text());
    }

    void testASeriesWrittenTwiceKeepsItsFirstValue()
    {
        MetricsPage page;
        page.counter("identity_limits_hit_total", "Limits.", 5, {{"limit", "hash_slots"}});
        page.counter("identity_limits_hit_total", "Limits.", 0, {{"limit", "hash_slots"}}); // a plugin's, say
        page.gauge("identity_limits_hit_total", "Another type.", 1, {{"limit", "other"}});   // a family's type stays
        const std::string text = page.text();
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), count(text, "identity_limits_hit_total{"));
        CPPUNIT_ASSERT(text.find("{limit=\"hash_slots\"} 5\n") != std::string::npos);
    }

    void testACollectorPageMergesOnlyWhatFits()
    {
        MetricsPage page;
        page.gauge("identity_outbox_messages", "Outbox.", 1, {{"state", "pending"}});
        MetricsPage collector("identity_");
        collector.gauge("identity_outbox_messages", "Outbox.", 9, {{"state", "pending"}}); // already there
        collector.gauge("identity_outbox_messages", "Outbox.", 2, {{"state", "sending"}});
        collector.gauge("process_resident_memory_bytes", "Not a plugin's to write.", 1);
        collector.gauge("identity_plugin_gauge", "Fine.", 3);
        page.merge(collector);
        const std::string text = page.text();
        CPPUNIT_ASSERT(text.find("identity_outbox_messages{state=\"pending\"} 1\n") != std::string::npos);
        CPPUNIT_ASSERT(text.find("identity_outbox_messages{state=\"sending\"} 2\n") != std::string::npos);
        CPPUNIT_ASSERT(text.find("process_resident_memory_bytes") == std::string::npos);
        CPPUNIT_ASSERT(text.find("identity_plugin_gauge 3\n") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), count(text, "# TYPE identity_outbox_messages"));
    }

    void testLabelValuesAreEscapedAndBadNamesDropped()
    {
        MetricsPage page;
        page.gauge("identity_g", "Help with \\ and\nnewline.", 1, {{"v", "a\"b\\c\nd"}});
        page.gauge("bad name", "Dropped.", 1);
        page.gauge("identity_h", "Dropped: a bad label name.", 1, {{"0bad", "x"}});
        page.gauge("identity_h2", "Dropped: a reserved label name.", 1, {{"__name__", "x"}});
        const std::string text = page.text();
        CPPUNIT_ASSERT(text.find("identity_g{v=\"a\\\"b\\\\c\\nd\"} 1\n") != std::string::npos);
        CPPUNIT_ASSERT(text.find("# HELP identity_g Help with \\\\ and\\nnewline.\n") != std::string::npos);
        CPPUNIT_ASSERT(text.find("bad name") == std::string::npos);
        CPPUNIT_ASSERT(text.find("identity_h") == std::string::npos);
    }

    void testCountersAreTheSameObjectForANameAndLabels()
    {
        MetricsRegistry registry;
        const auto first = registry.counter("identity_codes_total", "Codes.", {{"event", "issued"}});
        first->add(2);
        CPPUNIT_ASSERT(first == registry.counter("identity_codes_total", "Codes.", {{"event", "issued"}}));
        CPPUNIT_ASSERT(first != registry.counter("identity_codes_total", "Codes.", {{"event", "verified"}}));
        for (const char* name : {"codes_total", "identity_codes", "identity_Codes_total", "identity_total"})
            CPPUNIT_ASSERT_THROW_MESSAGE(name, registry.counter(name, "Bad."), Poco::InvalidArgumentException);
        CPPUNIT_ASSERT_THROW(registry.counter("identity_ok_total", "Bad label.", {{"le", "1"}}),
                             Poco::InvalidArgumentException);
        MetricsPage page;
        registry.writeTo(page);
        CPPUNIT_ASSERT(page.text().find("identity_codes_total{event=\"issued\"} 2\n") != std::string::npos);
    }

    void testTheLatencyHistogramIsCumulative()
    {
        MetricsRegistry registry;
        registry.observe("/healthz", 200, 0.0005);
        registry.observe("/healthz", 204, 0.02);
        registry.observe("/healthz", 200, 30);
        registry.observe("", 404, 0.001);
        MetricsPage page;
        registry.writeTo(page);
        const std::string text = page.text();
        const std::string healthz = "identity_http_request_duration_seconds_bucket{route=\"/healthz\",class=\"2xx\",";
        CPPUNIT_ASSERT(text.find(healthz + "le=\"0.001\"} 1\n") != std::string::npos);
        CPPUNIT_ASSERT(text.find(healthz + "le=\"0.025\"} 2\n") != std::string::npos);
        CPPUNIT_ASSERT(text.find(healthz + "le=\"10\"} 2\n") != std::string::npos);
        CPPUNIT_ASSERT(text.find(healthz + "le=\"+Inf\"} 3\n") != std::string::npos);
        CPPUNIT_ASSERT(text.find("identity_http_request_duration_seconds_count{route=\"none\",class=\"4xx\"} 1\n") !=
                       std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(MetricsPageTest, "MetricsPageTest");

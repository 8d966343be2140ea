#pragma once

#include "identity/sdk/Metrics.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace identity::host
{

/// A `/metrics` page in the Prometheus text format (version 0.0.4) as it is being written: samples are
/// grouped by family, each family once with its HELP and TYPE, in the order families first appear, so
/// that `promtool check metrics` accepts it. Label values are escaped; a sample whose name or labels
/// break Prometheus' rules is dropped.
class MetricsPage : public sdk::MetricsWriter
{
public:
    /// `requiredPrefix`: names without it are dropped (a plugin's collector writes only `identity_…`).
    explicit MetricsPage(std::string requiredPrefix = "") : _prefix(std::move(requiredPrefix)) {}

    void gauge(const std::string& name, const std::string& help, double value,
               const sdk::MetricLabels& labels = {}) override;
    void counter(const std::string& name, const std::string& help, double value, const sdk::MetricLabels& labels = {});
    /// One histogram series: cumulative bucket counts for `bounds` (the +Inf bucket is `count`).
    void histogram(const std::string& name, const std::string& help, const std::vector<double>& bounds,
                   const std::vector<std::uint64_t>& cumulative, std::uint64_t count, double sum,
                   const sdk::MetricLabels& labels);

    std::string text() const;

    /// Adds `other`'s samples (a collector's, written apart so that a collector that throws adds none):
    /// a family of another type, and a series already on this page, are left out.
    void merge(const MetricsPage& other);

    static bool validName(const std::string& name);
    static bool validLabelName(const std::string& name);
    static std::string number(double value);

private:
    struct Family
    {
        std::string help;
        std::string type;
        std::vector<std::string> lines;
        std::set<std::string> series; ///< each series once: the first value written stands
    };
    Family* family(const std::string& name, const std::string& help, const std::string& type);
    static std::string series(const std::string& name, const sdk::MetricLabels& labels);
    void add(Family& family, const std::string& series, const std::string& value);

    std::string _prefix;
    std::vector<std::string> _order;
    std::map<std::string, Family> _families;
};

/// The host's metrics: counters that plugins and the host make (`counter`, the same object for a name
/// and labels as long as the host runs, so a plugin's counts go on across its reloads), and the request
/// latency histogram by route and status class.
class MetricsRegistry
{
public:
    /// Latency buckets, in seconds.
    static const std::vector<double>& latencyBounds();

    /// Throws Poco::InvalidArgumentException when the name is not `identity_…_total` or a label name is
    /// not a Prometheus label name.
    std::shared_ptr<sdk::Counter> counter(const std::string& name, const std::string& help,
                                          const sdk::MetricLabels& labels = {});

    /// One answered request: `route` is the route's path, or "" when no route took it (404, a head that
    /// could not be read, a deadline).
    void observe(const std::string& route, int status, double seconds);

    void writeTo(MetricsPage& page) const;

    /// The standard `process_*` series of Prometheus' client libraries, read from /proc.
    static void writeProcessMetrics(MetricsPage& page);

private:
    struct CounterEntry
    {
        std::string name;
        std::string help;
        sdk::MetricLabels labels;
        std::shared_ptr<sdk::Counter> counter;
    };
    struct Histogram
    {
        std::vector<std::uint64_t> buckets; ///< per bound, not cumulative
        std::uint64_t count = 0;
        double sum = 0;
    };

    mutable std::mutex _mutex;
    std::map<std::string, CounterEntry> _counters; ///< by series text
    std::map<std::pair<std::string, std::string>, Histogram> _latency; ///< by route and class
};

} // namespace identity::host

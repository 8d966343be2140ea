#pragma once

#include "identity/sdk/Export.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace identity::sdk
{

/// Label names and values of one series, e.g. `{{"channel", "sms"}, {"outcome", "delivered"}}`.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

/// A count that only goes up, one series of a Prometheus counter on the host's `/metrics`. The host
/// makes it (`PluginContext::counter`) and keeps it: it is the same object for every build of the plugin,
/// so counts go on across reloads, and it holds no code of the plugin's. SDK 3.3.
class IDENTITY_SDK_API Counter
{
public:
    void add(std::uint64_t amount = 1) noexcept { _value.fetch_add(amount, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return _value.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> _value{0};
};

/// What a plugin's collector reports at a scrape of `/metrics`: values read then (a queue's depth, the
/// age of its oldest entry). Names follow Prometheus' rules and begin with `identity_`; each name is one
/// family with one help text. SDK 3.3.
class IDENTITY_SDK_API MetricsWriter
{
public:
    virtual ~MetricsWriter();

    virtual void gauge(const std::string& name, const std::string& help, double value,
                       const MetricLabels& labels = {}) = 0;
};

/// Called at every scrape, on the scraping request's thread, while the plugin's generation is held; it
/// may read the plugin's storage. An exception drops its samples from that page (the host logs it).
using MetricsCollector = std::function<void(MetricsWriter&)>;

} // namespace identity::sdk

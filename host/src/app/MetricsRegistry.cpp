#include "app/MetricsRegistry.h"

#include <Poco/Exception.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <sys/resource.h>
#include <unistd.h>

namespace identity::host
{

namespace
{
std::string escaped(const std::string& value)
{
    std::string out;
    out.reserve(value.size());
    for (char c : value)
    {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string escapedHelp(const std::string& help)
{
    std::string out;
    for (char c : help)
    {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}
} // namespace

bool MetricsPage::validName(const std::string& name)
{
    if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_' || name[0] == ':'))
        return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':'; });
}

bool MetricsPage::validLabelName(const std::string& name)
{
    if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_') ||
        name.rfind("__", 0) == 0)
        return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

std::string MetricsPage::number(double value)
{
    if (std::isnan(value))
        return "NaN";
    if (std::isinf(value))
        return value > 0 ? "+Inf" : "-Inf";
    if (value == std::floor(value) && std::fabs(value) < 1e15)
        return std::to_string(static_cast<long long>(value));
    char text[32];
    std::snprintf(text, sizeof text, "%.15g", value);
    return text;
}

std::string MetricsPage::series(const std::string& name, const sdk::MetricLabels& labels)
{
    std::string text = name;
    if (!labels.empty())
    {
        text += '{';
        for (std::size_t i = 0; i < labels.size(); ++i)
        {
            if (i)
                text += ',';
            text += labels[i].first + "=\"" + escaped(labels[i].second) + '"';
        }
        text += '}';
    }
    return text;
}

MetricsPage::Family* MetricsPage::family(const std::string& name, const std::string& help, const std::string& type)
{
    auto found = _families.find(name);
    if (found == _families.end())
    {
        _order.push_back(name);
        found = _families.emplace(name, Family{help, type, {}, {}}).first;
    }
    return found->second.type == type ? &found->second : nullptr; // one family, one type
}

void MetricsPage::add(Family& family, const std::string& series, const std::string& value)
{
    if (family.series.insert(series).second)
        family.lines.push_back(series + ' ' + value);
}

void MetricsPage::merge(const MetricsPage& other)
{
    for (const std::string& name : other._order)
    {
        const Family& from = other._families.at(name);
        Family* to = family(name, from.help, from.type);
        if (!to)
            continue;
        for (const std::string& line : from.lines)
        {
            const std::size_t space = line.rfind(' ');
            add(*to, line.substr(0, space), line.substr(space + 1));
        }
    }
}

void MetricsPage::gauge(const std::string& name, const std::string& help, double value, const sdk::MetricLabels& labels)
{
    if (!validName(name) || name.rfind(_prefix, 0) != 0 ||
        !std::all_of(labels.begin(), labels.end(), [](const auto& label) { return validLabelName(label.first); }))
        return;
    if (Family* found = family(name, help, "gauge"))
        add(*found, series(name, labels), number(value));
}

void MetricsPage::counter(const std::string& name, const std::string& help, double value, const sdk::MetricLabels& labels)
{
    if (!validName(name) || name.rfind(_prefix, 0) != 0 ||
        !std::all_of(labels.begin(), labels.end(), [](const auto& label) { return validLabelName(label.first); }))
        return;
    if (Family* found = family(name, help, "counter"))
        add(*found, series(name, labels), number(value));
}

void MetricsPage::histogram(const std::string& name, const std::string& help, const std::vector<double>& bounds,
                            const std::vector<std::uint64_t>& cumulative, std::uint64_t count, double sum,
                            const sdk::MetricLabels& labels)
{
    Family* found = name.rfind(_prefix, 0) == 0 ? family(name, help, "histogram") : nullptr;
    if (!found || !found->series.insert(series(name, labels)).second)
        return;
    for (std::size_t i = 0; i < bounds.size(); ++i)
    {
        sdk::MetricLabels withBound = labels;
        withBound.emplace_back("le", number(bounds[i]));
        found->lines.push_back(series(name + "_bucket", withBound) + ' ' + std::to_string(cumulative[i]));
    }
    sdk::MetricLabels infinite = labels;
    infinite.emplace_back("le", "+Inf");
    found->lines.push_back(series(name + "_bucket", infinite) + ' ' + std::to_string(count));
    found->lines.push_back(series(name + "_sum", labels) + ' ' + number(sum));
    found->lines.push_back(series(name + "_count", labels) + ' ' + std::to_string(count));
}

std::string MetricsPage::text() const
{
    std::string out;
    for (const std::string& name : _order)
    {
        const Family& family = _families.at(name);
        out += "# HELP " + name + ' ' + escapedHelp(family.help) + '\n';
        out += "# TYPE " + name + ' ' + family.type + '\n';
        for (const std::string& line : family.lines)
            out += line + '\n';
    }
    return out;
}

const std::vector<double>& MetricsRegistry::latencyBounds()
{
    static const std::vector<double> bounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    return bounds;
}

std::shared_ptr<sdk::Counter> MetricsRegistry::counter(const std::string& name, const std::string& help,
                                                       const sdk::MetricLabels& labels)
{
    if (name.rfind("identity_", 0) != 0 || name.size() < 16 || name.compare(name.size() - 6, 6, "_total") != 0 ||
        !std::all_of(name.begin(), name.end(), [](char c) { return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_'; }))
        throw Poco::InvalidArgumentException("a counter's name must match identity_[a-z0-9_]*_total", name);
    for (const auto& label : labels)
        if (!MetricsPage::validLabelName(label.first) || label.first == "le")
            throw Poco::InvalidArgumentException("not a label name", label.first);
    std::string key = name;
    for (const auto& label : labels)
        key += '\0' + label.first + '\0' + label.second;
    std::lock_guard<std::mutex> lock(_mutex);
    auto found = _counters.find(key);
    if (found == _counters.end())
        found = _counters.emplace(key, CounterEntry{name, help, labels, std::make_shared<sdk::Counter>()}).first;
    return found->second.counter;
}

void MetricsRegistry::observe(const std::string& route, int status, double seconds)
{
    const int statusClass = status / 100;
    const std::string label = (statusClass >= 1 && statusClass <= 5 ? std::to_string(statusClass) : std::string("5")) + "xx";
    const auto& bounds = latencyBounds();
    const std::size_t bucket =
        static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
    std::lock_guard<std::mutex> lock(_mutex);
    Histogram& histogram = _latency[{route, label}];
    if (histogram.buckets.empty())
        histogram.buckets.assign(bounds.size(), 0);
    if (bucket < bounds.size())
        ++histogram.buckets[bucket];
    ++histogram.count;
    histogram.sum += seconds;
}

void MetricsRegistry::writeTo(MetricsPage& page) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    const auto& bounds = latencyBounds();
    for (const auto& [key, histogram] : _latency)
    {
        std::vector<std::uint64_t> cumulative(bounds.size());
        std::uint64_t running = 0;
        for (std::size_t i = 0; i < bounds.size(); ++i)
            cumulative[i] = running += histogram.buckets[i];
        page.histogram("identity_http_request_duration_seconds",
                       "Time from a request's first byte to its answer, by route (\"none\": no route took it) and "
                       "status class.",
                       bounds, cumulative, histogram.count, histogram.sum,
                       {{"route", key.first.empty() ? "none" : key.first}, {"class", key.second}});
    }
    for (const auto& [key, entry] : _counters)
        page.counter(entry.name, entry.help, static_cast<double>(entry.counter->value()), entry.labels);
}

void MetricsRegistry::writeProcessMetrics(MetricsPage& page)
{
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double pageSize = static_cast<double>(sysconf(_SC_PAGESIZE));
    std::ifstream statFile("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(statFile)), std::istreambuf_iterator<char>());
    // The fields after the command name (which may hold spaces and parentheses): state is field 3.
    const std::size_t close = stat.rfind(')');
    if (close != std::string::npos)
    {
        std::istringstream fields(stat.substr(close + 2));
        std::vector<std::string> values;
        for (std::string value; fields >> value;)
            values.push_back(value);
        // values[0] is field 3; utime 14, stime 15, starttime 22.
        if (values.size() > 19)
        {
            const double cpu = (std::stod(values[11]) + std::stod(values[12])) / ticks;
            page.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", cpu);
            std::ifstream procStat("/proc/stat");
            for (std::string line; std::getline(procStat, line);)
                if (line.rfind("btime ", 0) == 0)
                    page.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                               std::stod(line.substr(6)) + std::stod(values[19]) / ticks);
        }
    }
    std::ifstream statm("/proc/self/statm");
    double size = 0, resident = 0;
    if (statm >> size >> resident)
    {
        page.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", size * pageSize);
        page.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", resident * pageSize);
    }
    if (DIR* fds = opendir("/proc/self/fd"))
    {
        double open = 0;
        while (const dirent* entry = readdir(fds))
            open += entry->d_name[0] != '.';
        closedir(fds);
        page.gauge("process_open_fds", "Number of open file descriptors.", open - 1); // less the one reading
    }
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0)
        page.gauge("process_max_fds", "Maximum number of open file descriptors.", static_cast<double>(limit.rlim_cur));
}

} // namespace identity::host

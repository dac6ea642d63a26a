// SPDX-License-Identifier: AGPL-3.0-or-later
// Prometheus text exposition: families, samples, histograms.
#include "common/prometheus.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace nexus {

void DurationHistogram::record(double seconds) {
    std::size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) {
        ++i;
    }
    ++buckets_[i];
    sum_ += seconds;
    ++count_;
}

std::string escapeLabelValue(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '"': out += "\\\""; break;
            case '\n': out += "\\n"; break;
            default: out += c;
        }
    }
    return out;
}

namespace {

std::string_view typeName(MetricsText::Type type) {
    switch (type) {
        case MetricsText::Type::Counter: return "counter";
        case MetricsText::Type::Gauge: return "gauge";
        case MetricsText::Type::Histogram: return "histogram";
    }
    return "untyped";
}

// Integers print as integers (counters stay exact past 2^53 only as far as double allows,
// which is far beyond any counter here); the rest in the shortest form that reads back.
void appendValue(std::string& text, double value) {
    if (std::isinf(value)) {
        text += value > 0 ? "+Inf" : "-Inf";
    } else if (std::isnan(value)) {
        text += "NaN";
    } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
        fmt::format_to(std::back_inserter(text), "{}", static_cast<long long>(value));
    } else {
        fmt::format_to(std::back_inserter(text), "{}", value);
    }
}

}  // namespace

void MetricsText::family(std::string_view name, Type type, std::string_view help) {
    fmt::format_to(std::back_inserter(text_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                   typeName(type));
}

void MetricsText::sample(std::string_view name, std::span<const MetricLabel> labels, double value) {
    text_ += name;
    if (!labels.empty()) {
        text_ += '{';
        bool first = true;
        for (const auto& [key, labelValue] : labels) {
            if (!first) {
                text_ += ',';
            }
            first = false;
            fmt::format_to(std::back_inserter(text_), "{}=\"{}\"", key,
                           escapeLabelValue(labelValue));
        }
        text_ += '}';
    }
    text_ += ' ';
    appendValue(text_, value);
    text_ += '\n';
}

void MetricsText::sample(std::string_view name, std::initializer_list<MetricLabel> labels,
                         double value) {
    sample(name, std::span<const MetricLabel>(labels.begin(), labels.size()), value);
}

void MetricsText::histogram(std::string_view name, std::initializer_list<MetricLabel> labels,
                            const DurationHistogram& histogram) {
    std::vector<MetricLabel> withLe(labels.begin(), labels.end());
    withLe.emplace_back("le", "");
    const std::string bucket = fmt::format("{}_bucket", name);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < histogram.buckets().size(); ++i) {
        cumulative += histogram.buckets()[i];
        const std::string le = i < DurationHistogram::kBounds.size()
                                   ? fmt::format("{}", DurationHistogram::kBounds[i])
                                   : std::string("+Inf");
        withLe.back().second = le;
        sample(bucket, withLe, static_cast<double>(cumulative));
    }
    sample(fmt::format("{}_sum", name), labels, histogram.sum());
    sample(fmt::format("{}_count", name), labels, static_cast<double>(histogram.count()));
}

void writeProcessMetrics(MetricsText& text) {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t pages = 0;
    std::uint64_t resident = 0;
    if (statm >> pages >> resident) {
        text.family("process_resident_memory_bytes", MetricsText::Type::Gauge,
                    "Resident memory size in bytes.");
        text.sample(
            "process_resident_memory_bytes",
            static_cast<double>(resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE))));
    }
    std::error_code ec;
    std::filesystem::directory_iterator fds("/proc/self/fd", ec);
    if (!ec) {
        // The iterator's own descriptor is among them: count it out.
        const auto open = std::distance(fds, std::filesystem::directory_iterator());
        text.family("process_open_fds", MetricsText::Type::Gauge,
                    "Number of open file descriptors.");
        text.sample("process_open_fds", static_cast<double>(open > 0 ? open - 1 : 0));
    }
}

}  // namespace nexus

// SPDX-License-Identifier: AGPL-3.0-or-later
// Prometheus text exposition format 0.0.4: the page /metrics serves. Each family is written
// once with its HELP and TYPE lines and then its samples; label values are escaped, so a slug
// or a path can never break a line.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace nexus {

using MetricLabel = std::pair<std::string_view, std::string_view>;

/// Durations in fixed buckets: recording one costs a comparison per bucket, no allocation.
class DurationHistogram {
public:
    /// Upper bounds in seconds, the usual spread of a web request, from 1 ms to 30 s.
    static constexpr std::array<double, 12> kBounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,   0.25,   0.5,   1.0,  5.0,   30.0};

    void record(double seconds);

    /// Observations at or below each bound (not cumulative; the writer accumulates).
    const std::array<std::uint64_t, kBounds.size() + 1>& buckets() const { return buckets_; }
    double sum() const { return sum_; }
    std::uint64_t count() const { return count_; }

private:
    std::array<std::uint64_t, kBounds.size() + 1> buckets_{};  ///< the last one is +Inf
    double sum_ = 0;
    std::uint64_t count_ = 0;
};

class MetricsText {
public:
    enum class Type { Counter, Gauge, Histogram };

    /// Starts a family: `name` must follow Prometheus naming (`nexus_relay_…_total` for
    /// counters). Samples written after it belong to it.
    void family(std::string_view name, Type type, std::string_view help);

    /// One sample of the current family, `name{labels} value`.
    void sample(std::string_view name, std::initializer_list<MetricLabel> labels, double value);
    void sample(std::string_view name, double value) { sample(name, {}, value); }
    void sample(std::string_view name, std::span<const MetricLabel> labels, double value);

    /// The `_bucket`, `_sum` and `_count` samples of a histogram family named `name`.
    void histogram(std::string_view name, std::initializer_list<MetricLabel> labels,
                   const DurationHistogram& histogram);

    const std::string& text() const { return text_; }
    std::string take() { return std::move(text_); }

private:
    std::string text_;
};

/// The standard process families read from /proc/self: process_resident_memory_bytes and
/// process_open_fds (left out where /proc cannot be read).
void writeProcessMetrics(MetricsText& text);

/// A label value as the exposition format wants it: backslash, quote and newline escaped.
std::string escapeLabelValue(std::string_view value);

}  // namespace nexus

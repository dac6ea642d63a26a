// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for the Prometheus text writer: families, labels, escaping and histograms.
#include "common/prometheus.hpp"

#include <gtest/gtest.h>

namespace nexus {
namespace {

TEST(MetricsText, WritesHelpAndTypeBeforeSamples) {
    MetricsText text;
    text.family("nexus_relay_tunnels", MetricsText::Type::Gauge, "Tunnels connected now.");
    text.sample("nexus_relay_tunnels", 3);
    EXPECT_EQ(text.text(),
              "# HELP nexus_relay_tunnels Tunnels connected now.\n"
              "# TYPE nexus_relay_tunnels gauge\n"
              "nexus_relay_tunnels 3\n");
}

TEST(MetricsText, EscapesLabelValuesSoNoValueCanBreakALine) {
    MetricsText text;
    text.sample("x_total", {{"slug", "a\"b\\c\nd"}}, 1);
    EXPECT_EQ(text.text(), "x_total{slug=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsText, PrintsFractionsAndLargeIntegersExactly) {
    MetricsText text;
    text.sample("a", 0.25);
    text.sample("b", 12345678901.0);
    EXPECT_EQ(text.text(), "a 0.25\nb 12345678901\n");
}

TEST(DurationHistogram, CountsEachObservationInTheFirstBucketThatHoldsIt) {
    DurationHistogram histogram;
    histogram.record(0.001);  // on the bound: le="0.001"
    histogram.record(0.003);
    histogram.record(100);  // above every bound: +Inf only
    EXPECT_EQ(histogram.buckets()[0], 1U);
    EXPECT_EQ(histogram.buckets()[2], 1U);
    EXPECT_EQ(histogram.buckets().back(), 1U);
    EXPECT_EQ(histogram.count(), 3U);
    EXPECT_DOUBLE_EQ(histogram.sum(), 100.004);
}

TEST(MetricsText, WritesHistogramBucketsCumulativelyWithInf) {
    DurationHistogram histogram;
    histogram.record(0.002);
    histogram.record(0.002);
    histogram.record(40);
    MetricsText text;
    text.histogram("d_seconds", {{"door", "tcp"}}, histogram);
    const std::string& out = text.text();
    EXPECT_NE(out.find("d_seconds_bucket{door=\"tcp\",le=\"0.001\"} 0\n"), std::string::npos);
    EXPECT_NE(out.find("d_seconds_bucket{door=\"tcp\",le=\"0.0025\"} 2\n"), std::string::npos);
    EXPECT_NE(out.find("d_seconds_bucket{door=\"tcp\",le=\"30\"} 2\n"), std::string::npos);
    EXPECT_NE(out.find("d_seconds_bucket{door=\"tcp\",le=\"+Inf\"} 3\n"), std::string::npos);
    EXPECT_NE(out.find("d_seconds_count{door=\"tcp\"} 3\n"), std::string::npos);
    EXPECT_NE(out.find("d_seconds_sum{door=\"tcp\"} 40.004\n"), std::string::npos);
}

}  // namespace
}  // namespace nexus

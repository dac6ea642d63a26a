// SPDX-License-Identifier: AGPL-3.0-or-later
// The relay's counters since start, kept from its events, and the /metrics page made of them
// and of the live tunnels. Recording a request costs a few increments and two histogram
// updates: no allocation, no lock (the event loop's thread only).
#pragma once

#include "common/prometheus.hpp"
#include "server/relay_events.hpp"
#include "server/relay_server.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace nexus {

class RelayMetrics final : public server::RelayObserver {
public:
    /// Tunnels given per-slug series at most: beyond, the rest count in the totals only.
    static constexpr std::size_t kMaxSlugSeries = 500;

    void tunnelEvent(const server::TunnelEvent& event) override;
    void requestServed(const server::RequestServed& event) override;
    void authFailure(const server::AuthFailure& event) override;

    /// Totals since start, for /status.
    struct Totals {
        std::array<std::uint64_t, 6> byClass{};  ///< [0]: no response; [n]: nxx
        std::uint64_t received = 0;
        std::uint64_t sent = 0;
        std::uint64_t registrations = 0;
        std::uint64_t authFailures = 0;
    };
    const Totals& totals() const { return totals_; }

    /// The whole exposition: these counters, the live `tunnels` (per slug unless `perSlug` is
    /// false) and the process's memory and descriptors.
    std::string render(const std::vector<server::TunnelSnapshot>& tunnels, bool perSlug) const;

private:
    /// Durations of the requests that went one way (door and protocol; "none" for the relay's
    /// own answers): a handful of these at most.
    struct Path {
        std::string door;
        std::string protocol;
        DurationHistogram duration;
        DurationHistogram firstByte;
    };
    Path& path(const server::TunnelInfo* tunnel);
    void renderHistograms(MetricsText& out, std::string_view name, std::string_view help,
                          DurationHistogram Path::*histogram) const;
    void renderTunnels(MetricsText& out, const std::vector<server::TunnelSnapshot>& tunnels,
                       bool perSlug) const;

    Totals totals_;
    std::vector<Path> paths_;
    std::uint64_t lastSession_ = 0;  ///< the tunnel session of the last request, and its path
    std::size_t lastPath_ = 0;
};

/// "2xx" for 2, "none" for 0: the class label of a status class index.
std::string_view statusClassLabel(std::size_t index);

}  // namespace nexus

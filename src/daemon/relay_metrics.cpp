// SPDX-License-Identifier: AGPL-3.0-or-later
// RelayMetrics: counting events and writing /metrics.
#include "daemon/relay_metrics.hpp"

#include "nexus_config.hpp"

#include <algorithm>
#include <chrono>

namespace nexus {

using server::TunnelEvent;
using Type = MetricsText::Type;

std::string_view statusClassLabel(std::size_t index) {
    static constexpr std::array<std::string_view, 6> kLabels{"none", "1xx", "2xx",
                                                             "3xx",  "4xx", "5xx"};
    return kLabels[std::min<std::size_t>(index, 5)];
}

void RelayMetrics::tunnelEvent(const TunnelEvent& event) {
    if (event.kind == TunnelEvent::Kind::Registered || event.kind == TunnelEvent::Kind::Replaced) {
        ++totals_.registrations;
    }
}

void RelayMetrics::authFailure(const server::AuthFailure& /*event*/) {
    ++totals_.authFailures;
}

RelayMetrics::Path& RelayMetrics::path(const server::TunnelInfo* tunnel) {
    // Requests come in runs on one tunnel: its session id (unique in the process) saves
    // comparing the names again.
    if (tunnel != nullptr && tunnel->sessionId == lastSession_) {
        return paths_[lastPath_];
    }
    const std::string_view door = tunnel != nullptr ? std::string_view(tunnel->door) : "none";
    const std::string_view protocol =
        tunnel != nullptr ? std::string_view(tunnel->protocol) : "none";
    std::size_t i = 0;
    while (i < paths_.size() && (paths_[i].door != door || paths_[i].protocol != protocol)) {
        ++i;
    }
    if (i == paths_.size()) {
        paths_.push_back(Path{std::string(door), std::string(protocol), {}, {}});
    }
    lastSession_ = tunnel != nullptr ? tunnel->sessionId : 0;
    lastPath_ = i;
    return paths_[i];
}

void RelayMetrics::requestServed(const server::RequestServed& event) {
    const auto& r = event.record;
    ++totals_.byClass[std::min<unsigned>(r.status / 100, 5)];
    totals_.received += r.bytesIn;
    totals_.sent += r.bytesOut;
    auto& p = path(event.tunnel);
    using Seconds = std::chrono::duration<double>;
    p.duration.record(std::chrono::duration_cast<Seconds>(event.duration).count());
    if (r.status != 0) {
        p.firstByte.record(std::chrono::duration_cast<Seconds>(r.firstByte - r.started).count());
    }
}

namespace {
// A family of one sample without labels.
void single(MetricsText& out, std::string_view name, Type type, std::string_view help,
            std::uint64_t value) {
    out.family(name, type, help);
    out.sample(name, static_cast<double>(value));
}
}  // namespace

std::string RelayMetrics::render(const std::vector<server::TunnelSnapshot>& tunnels,
                                 bool perSlug) const {
    MetricsText out;
    out.family("nexus_relay_info", Type::Gauge, "The relay's version, as a label.");
    out.sample("nexus_relay_info", {{"version", NEXUS_VERSION}}, 1);
    single(out, "nexus_relay_tunnels", Type::Gauge, "Tunnels connected now.", tunnels.size());
    std::uint64_t streams = 0;
    for (const auto& t : tunnels) {
        streams += t.counters.activeStreams;
    }
    single(out, "nexus_relay_active_streams", Type::Gauge,
           "Visitor requests and WebSockets in flight through the tunnels.", streams);
    out.family("nexus_relay_requests_total", Type::Counter,
               "Visitor requests answered, by status class (none: no response went out).");
    for (std::size_t i = 0; i < totals_.byClass.size(); ++i) {
        out.sample("nexus_relay_requests_total", {{"class", statusClassLabel(i)}},
                   static_cast<double>(totals_.byClass[i]));
    }
    single(out, "nexus_relay_received_bytes_total", Type::Counter,
           "Request body bytes received from visitors (WebSocket bytes included).",
           totals_.received);
    single(out, "nexus_relay_sent_bytes_total", Type::Counter,
           "Response body bytes sent to visitors (WebSocket bytes included).", totals_.sent);
    renderHistograms(out, "nexus_relay_request_duration_seconds",
                     "Time from a request's head to the end of its response, by door and protocol.",
                     &Path::duration);
    renderHistograms(out, "nexus_relay_time_to_first_byte_seconds",
                     "Time from a request's head to its response head, by door and protocol.",
                     &Path::firstByte);
    single(out, "nexus_relay_registrations_total", Type::Counter,
           "Agent registrations accepted (takeovers included).", totals_.registrations);
    single(out, "nexus_relay_auth_failures_total", Type::Counter,
           "Registrations refused for a wrong slug or token, or too many failures.",
           totals_.authFailures);
    renderTunnels(out, tunnels, perSlug);
    writeProcessMetrics(out);
    return out.take();
}

void RelayMetrics::renderHistograms(MetricsText& out, std::string_view name, std::string_view help,
                                    DurationHistogram Path::*histogram) const {
    out.family(name, Type::Histogram, help);
    for (const auto& p : paths_) {
        out.histogram(name, {{"door", p.door}, {"protocol", p.protocol}}, p.*histogram);
    }
}

namespace {
void perSlugBytes(MetricsText& out, std::string_view name, std::string_view help,
                  const std::vector<server::TunnelSnapshot>& tunnels, std::size_t shown,
                  std::uint64_t server::TunnelCounters::*bytes) {
    out.family(name, Type::Counter, help);
    for (std::size_t t = 0; t < shown; ++t) {
        out.sample(name, {{"slug", tunnels[t].info.slug}},
                   static_cast<double>(tunnels[t].counters.*bytes));
    }
}
}  // namespace

// Per slug, counted since the tunnel connected (a reconnect starts them again, which rate()
// reads as a counter reset): kept apart from the totals so that summing a family never counts
// a request twice.
void RelayMetrics::renderTunnels(MetricsText& out,
                                 const std::vector<server::TunnelSnapshot>& tunnels,
                                 bool perSlug) const {
    if (!perSlug) {
        return;
    }
    const auto shown = std::min(tunnels.size(), kMaxSlugSeries);
    out.family("nexus_relay_tunnel_requests_total", Type::Counter,
               "Requests through each tunnel since it connected, by status class.");
    for (std::size_t t = 0; t < shown; ++t) {
        const auto& tunnel = tunnels[t];
        for (std::size_t i = 0; i < tunnel.counters.byClass.size(); ++i) {
            if (tunnel.counters.byClass[i] != 0) {
                out.sample("nexus_relay_tunnel_requests_total",
                           {{"slug", tunnel.info.slug}, {"class", statusClassLabel(i)}},
                           static_cast<double>(tunnel.counters.byClass[i]));
            }
        }
    }
    perSlugBytes(out, "nexus_relay_tunnel_received_bytes_total",
                 "Request body bytes received through each tunnel since it connected.", tunnels,
                 shown, &server::TunnelCounters::bytesIn);
    perSlugBytes(out, "nexus_relay_tunnel_sent_bytes_total",
                 "Response body bytes sent through each tunnel since it connected.", tunnels, shown,
                 &server::TunnelCounters::bytesOut);
}

}  // namespace nexus

// SPDX-License-Identifier: AGPL-3.0-or-later
// RelayStatus: /healthz, /status and /metrics.
#include "daemon/relay_status.hpp"

#include "nexus_config.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace nexus {

namespace {

std::string isoTime(std::chrono::system_clock::time_point when) {
    return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                       std::chrono::time_point_cast<std::chrono::seconds>(when));
}

nlohmann::ordered_json byClass(const std::array<std::uint64_t, 6>& counts) {
    auto out = nlohmann::ordered_json::object();
    for (std::size_t i = 0; i < counts.size(); ++i) {
        out[std::string(statusClassLabel(i))] = counts[i];
    }
    return out;
}

}  // namespace

std::map<std::string, net::StatusRoute> RelayStatus::routes() const {
    return {
        {"/healthz",
         [this] {
             return net::StatusReply{200, "text/plain; charset=utf-8", health()};
         }},
        {"/status",
         [this] {
             return net::StatusReply{200, "application/json", statusJson()};
         }},
        {"/metrics",
         [this] {
             return net::StatusReply{200, "text/plain; version=0.0.4; charset=utf-8",
                                     metrics_.render(relay_.tunnels(), perSlug_)};
         }},
    };
}

std::string RelayStatus::health() const {
    return fmt::format("ok: {} tunnels\n", relay_.tunnelCount());
}

std::string RelayStatus::statusJson() const {
    const auto tunnels = relay_.tunnels();
    auto list = nlohmann::ordered_json::array();
    std::uint64_t streams = 0;
    for (const auto& t : tunnels) {
        const auto& c = t.counters;
        streams += c.activeStreams;
        list.push_back({{"slug", t.info.slug},
                        {"remote", t.info.peer},
                        {"address", t.info.address},
                        {"door", t.info.door},
                        {"protocol", t.info.protocol},
                        {"encrypted", t.info.encrypted},
                        {"since", isoTime(t.info.since)},
                        {"requests", c.requests()},
                        {"received_bytes", c.bytesIn},
                        {"sent_bytes", c.bytesOut},
                        {"active_streams", c.activeStreams},
                        {"errors", {{"4xx", c.byClass[4]}, {"5xx", c.byClass[5]}}},
                        {"requests_by_class", byClass(c.byClass)}});
    }
    const auto& totals = metrics_.totals();
    std::uint64_t requests = 0;
    for (const auto n : totals.byClass) {
        requests += n;
    }
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now() - started_);
    const nlohmann::ordered_json status{
        {"version", NEXUS_VERSION},
        {"uptime_seconds", uptime.count()},
        {"tunnels", std::move(list)},
        {"totals",
         {{"tunnels", tunnels.size()},
          {"requests", requests},
          {"requests_by_class", byClass(totals.byClass)},
          {"received_bytes", totals.received},
          {"sent_bytes", totals.sent},
          {"active_streams", streams},
          {"registrations", totals.registrations},
          {"auth_failures", totals.authFailures}}},
    };
    return status.dump(2) + "\n";
}

}  // namespace nexus

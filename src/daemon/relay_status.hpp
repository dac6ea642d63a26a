// SPDX-License-Identifier: AGPL-3.0-or-later
// The relay's status pages, served on its loopback status listener: /healthz (200 while the
// listeners are up, with the tunnel count), /status (JSON: version, uptime, the tunnels and
// the totals) and /metrics (Prometheus). Never a token: the tunnels carry none.
#pragma once

#include "daemon/relay_metrics.hpp"
#include "net/status_listener.hpp"
#include "server/relay_server.hpp"

#include <chrono>
#include <map>
#include <string>

namespace nexus {

class RelayStatus {
public:
    RelayStatus(const server::RelayServer& relay, const RelayMetrics& metrics, bool perSlug)
        : relay_(relay), metrics_(metrics), perSlug_(perSlug) {}

    std::map<std::string, net::StatusRoute> routes() const;

    std::string health() const;
    std::string statusJson() const;

private:
    const server::RelayServer& relay_;
    const RelayMetrics& metrics_;
    bool perSlug_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace nexus

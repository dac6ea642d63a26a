// SPDX-License-Identifier: AGPL-3.0-or-later
#include "ctl/relay_probe.hpp"

#include <fmt/format.h>

namespace nexus::ctl {

std::optional<Door> probeRelay(HttpsClient& https, const std::string& host, unsigned port,
                               std::chrono::seconds timeout, std::string& error) {
    const auto tls = https.tlsHandshake(host, port, timeout);
    if (tls.empty()) {
        return Door{fmt::format("{}:{}", host, port),
                    fmt::format("control port {} answers with TLS; using {}:{}", port, host, port)};
    }
    const auto url = fmt::format("https://{}/tunnel", host);
    const auto ws = https.websocketHandshake(url, timeout);
    const auto wss = fmt::format("wss://{}/tunnel", host);
    if (ws.status == 101) {
        return Door{wss, fmt::format("control port {} unreachable ({}); using {}", port, tls, wss)};
    }
    const auto wsWhy = ws.status != 0 ? fmt::format("HTTP {} instead of 101", ws.status) : ws.error;
    error = fmt::format("relay {} unreachable: control port {} ({}), {} ({})", host, port, tls, wss,
                        wsWhy);
    return std::nullopt;
}

}  // namespace nexus::ctl

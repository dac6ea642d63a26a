// SPDX-License-Identifier: AGPL-3.0-or-later
// The relay's events as log lines: the wording users grep for (`Tunnel registered: slug "X"`,
// `Tunnel gone`, `Tunnel replaced`, `Tunnel revoked`, `Auth failure from`) and one line per
// visitor request, each with the NEXUS_* fields journald keeps.
#pragma once

#include "common/log.hpp"
#include "server/relay_events.hpp"

#include <string>

namespace nexus {

class RelayLog final : public server::RelayObserver {
public:
    explicit RelayLog(Logger& log) : log_(log) {}

    void tunnelEvent(const server::TunnelEvent& event) override;
    void requestServed(const server::RequestServed& event) override;
    void authFailure(const server::AuthFailure& event) override;

private:
    Logger& log_;
};

/// "Request demo 1f2e3d4c-42 GET /path → 200 (3 ms, 0 B in, 5120 B out) from 203.0.113.5 over
/// tcp/v2": the request line's text, appended to `out`. A fallback answer has "-" for the slug
/// it could not name and for the door and protocol; a request that got no answer, "→ -".
void appendRequestLine(std::string& out, const server::RequestServed& event);

}  // namespace nexus

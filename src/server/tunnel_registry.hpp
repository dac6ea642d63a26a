// SPDX-License-Identifier: AGPL-3.0-or-later
// Live tunnels by slug. Removal is by identity (compare-and-remove), so an old session's
// teardown can never remove the newer session that replaced it. Requests waiting for a slug's
// agent to come back are woken from here, as the tunnel registers.
#pragma once

#include "server/tunnel.hpp"
#include "server/tunnel_waits.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace nexus::server {

class TunnelRegistry {
public:
    using Clock = std::chrono::steady_clock;

    /// How long after the relay's start, or after a slug's tunnel left, its agent is expected
    /// back (a restart, a reconnect after a cut): only then do visitors wait for it.
    static constexpr std::chrono::seconds kReturnWindow{60};

    std::shared_ptr<Tunnel> find(const std::string& slug) const;

    /// Installs `tunnel` for its slug and returns the session it replaced, if any; requests
    /// waiting for the slug go on through it.
    std::shared_ptr<Tunnel> replace(std::shared_ptr<Tunnel> tunnel);

    /// Removes the entry only if it is still this very tunnel; true if it was.
    bool removeIf(const Tunnel* tunnel);

    std::vector<std::shared_ptr<Tunnel>> all() const;
    std::size_t size() const { return tunnels_.size(); }

    /// Whether the relay started within kReturnWindow: its agents may be reconnecting.
    bool startedRecently() const { return Clock::now() - started_ <= kReturnWindow; }
    /// Whether a tunnel for the slug left within kReturnWindow.
    bool leftRecently(const std::string& slug) const;

    TunnelWaits& waits() { return waits_; }

private:
    std::unordered_map<std::string, std::shared_ptr<Tunnel>> tunnels_;
    /// When each slug's tunnel last left; pruned past kReturnWindow, at most kMaxDepartures.
    std::unordered_map<std::string, Clock::time_point> departures_;
    static constexpr std::size_t kMaxDepartures = 16384;
    Clock::time_point started_ = Clock::now();
    TunnelWaits waits_;
};

}  // namespace nexus::server

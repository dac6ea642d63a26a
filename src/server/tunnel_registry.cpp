// SPDX-License-Identifier: AGPL-3.0-or-later
// TunnelRegistry. Used on the event loop thread only.
#include "server/tunnel_registry.hpp"

namespace nexus::server {

std::shared_ptr<Tunnel> TunnelRegistry::find(const std::string& slug) const {
    const auto it = tunnels_.find(slug);
    return it == tunnels_.end() ? nullptr : it->second;
}

std::shared_ptr<Tunnel> TunnelRegistry::replace(std::shared_ptr<Tunnel> tunnel) {
    const std::string& slug = tunnel->info().slug;
    waits_.arrived(tunnel, slug);
    auto& slot = tunnels_[slug];
    auto previous = std::move(slot);
    slot = std::move(tunnel);
    return previous;
}

bool TunnelRegistry::removeIf(const Tunnel* tunnel) {
    const auto it = tunnels_.find(tunnel->info().slug);
    if (it == tunnels_.end() || it->second.get() != tunnel) {
        return false;
    }
    const auto now = Clock::now();
    if (departures_.size() >= kMaxDepartures) {
        std::erase_if(departures_, [now](const auto& d) { return now - d.second > kReturnWindow; });
    }
    if (departures_.size() < kMaxDepartures) {
        departures_[it->first] = now;
    }
    tunnels_.erase(it);
    return true;
}

std::vector<std::shared_ptr<Tunnel>> TunnelRegistry::all() const {
    std::vector<std::shared_ptr<Tunnel>> out;
    out.reserve(tunnels_.size());
    for (const auto& [slug, tunnel] : tunnels_) {
        out.push_back(tunnel);
    }
    return out;
}

bool TunnelRegistry::leftRecently(const std::string& slug) const {
    const auto left = departures_.find(slug);
    return left != departures_.end() && Clock::now() - left->second <= kReturnWindow;
}

}  // namespace nexus::server

// SPDX-License-Identifier: AGPL-3.0-or-later
// TunnelRegistry. Used on the event loop thread only.
#include "server/tunnel_registry.hpp"

namespace nexus::server {

std::shared_ptr<Tunnel> TunnelRegistry::find(const std::string& slug) const {
    const auto it = tunnels_.find(slug);
    return it == tunnels_.end() ? nullptr : it->second;
}

std::shared_ptr<Tunnel> TunnelRegistry::replace(std::shared_ptr<Tunnel> tunnel) {
    auto& slot = tunnels_[tunnel->info().slug];
    auto previous = std::move(slot);
    slot = std::move(tunnel);
    return previous;
}

bool TunnelRegistry::removeIf(const Tunnel* tunnel) {
    const auto it = tunnels_.find(tunnel->info().slug);
    if (it == tunnels_.end() || it->second.get() != tunnel) {
        return false;
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

}  // namespace nexus::server

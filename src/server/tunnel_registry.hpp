// SPDX-License-Identifier: AGPL-3.0-or-later
// Live tunnels by slug. Removal is by identity (compare-and-remove), so an old session's
// teardown can never remove the newer session that replaced it.
#pragma once

#include "server/tunnel.hpp"

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace nexus::server {

class TunnelRegistry {
public:
    std::shared_ptr<Tunnel> find(const std::string& slug) const;

    /// Installs `tunnel` for its slug and returns the session it replaced, if any.
    std::shared_ptr<Tunnel> replace(std::shared_ptr<Tunnel> tunnel);

    /// Removes the entry only if it is still this very tunnel; true if it was.
    bool removeIf(const Tunnel* tunnel);

    std::vector<std::shared_ptr<Tunnel>> all() const;
    std::size_t size() const { return tunnels_.size(); }

private:
    std::unordered_map<std::string, std::shared_ptr<Tunnel>> tunnels_;
};

}  // namespace nexus::server

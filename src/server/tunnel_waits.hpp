// SPDX-License-Identifier: AGPL-3.0-or-later
// Visitors' requests waiting for their slug's agent to come back (the relay just restarted,
// or the agent is reconnecting): each is woken the moment a tunnel registers the slug, not by
// polling. Bounded per slug and in total: beyond the caps a request does not wait.
#pragma once

#include "net/completion.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace nexus::server {

class Tunnel;

class TunnelWaits {
public:
    /// At most `perSlug` requests wait for one slug, `total` for all.
    void limit(std::size_t perSlug, std::size_t total) {
        perSlug_ = perSlug;
        total_ = total;
    }

    /// The tunnel that registers `slug` within `timeout`; null on the deadline, at once when
    /// a cap is reached, or when cancelAll() ends the wait.
    boost::asio::awaitable<std::shared_ptr<Tunnel>> wait(
        boost::asio::any_io_executor executor, const std::string& slug,
        std::chrono::steady_clock::duration timeout);

    /// A tunnel registered its slug: every request waiting for it goes on through it.
    void arrived(const std::shared_ptr<Tunnel>& tunnel, const std::string& slug);

    /// Ends every wait with no tunnel (the relay is draining).
    void cancelAll();

    std::size_t waiting() const { return waiting_; }

private:
    using Waiter = net::Completion<std::shared_ptr<Tunnel>>;
    void forget(const std::string& slug, const Waiter* waiter);

    std::size_t perSlug_ = 64;
    std::size_t total_ = 1024;
    std::size_t waiting_ = 0;
    std::unordered_map<std::string, std::vector<std::shared_ptr<Waiter>>> bySlug_;
};

}  // namespace nexus::server

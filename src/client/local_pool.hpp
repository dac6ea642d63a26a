// SPDX-License-Identifier: AGPL-3.0-or-later
// Keep-alive connections to the configured local address, shared by the v1 and v2 paths.
// The pool never connects anywhere else than AgentConfig::localHost:localPort.
#pragma once

#include "client/agent_config.hpp"
#include "common/error.hpp"
#include "net/timed_stream.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <vector>

namespace nexus::client {

class LocalPool {
public:
    using Stream = net::TimedStream;

    LocalPool(boost::asio::any_io_executor executor, const AgentConfig& config);

    /// An idle pooled connection (reused = true, `idleFor` = how long it sat in the pool),
    /// else a new one (5 s connect timeout).
    boost::asio::awaitable<Result<std::unique_ptr<Stream>>> checkout(
        bool& reused, std::chrono::steady_clock::duration* idleFor = nullptr);

    /// Keeps a connection whose last exchange ended cleanly, up to maxIdleLocalConnections.
    void checkin(std::unique_ptr<Stream> stream);

    std::size_t idleCount() const { return idle_.size(); }

    /// False when an idle connection has bytes or an EOF pending: the local server closed it
    /// (or sent something unsolicited), so a request written to it would be lost.
    static bool looksReusable(Stream& stream);

private:
    boost::asio::any_io_executor executor_;
    const AgentConfig& config_;
    struct Idle {
        std::unique_ptr<Stream> stream;
        std::chrono::steady_clock::time_point since;
    };
    std::vector<Idle> idle_;
};

}  // namespace nexus::client

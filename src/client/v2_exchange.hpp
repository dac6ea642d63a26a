// SPDX-License-Identifier: AGPL-3.0-or-later
// The agent side of one v2 stream: the relay's request goes to the local app over HTTP/1.1 as
// it arrives, and the local response streams back (SSE, large downloads, a WebSocket pipe),
// paced by the stream's flow-control window.
#pragma once

#include "client/agent_config.hpp"
#include "client/local_pool.hpp"
#include "common/log.hpp"
#include "net/v2_mux.hpp"

#include <chrono>
#include <cstddef>
#include <memory>

namespace nexus::client {

/// Timeouts of an exchange with the local app (tests shorten them).
struct V2Limits {
    /// The local app must send its status line and headers within this.
    std::chrono::steady_clock::duration headTimeout = std::chrono::seconds(60);
    /// A body that moves is never cut; any one wait (local read or write, tunnel read or
    /// window) longer than this is.
    std::chrono::steady_clock::duration idleTimeout = std::chrono::seconds(120);
    /// An upgraded (WebSocket) stream may stay quiet longer: the relay's own pipe timeout.
    std::chrono::steady_clock::duration pipeIdleTimeout = std::chrono::hours(1);
};

/// Shared by every exchange of the agent; must outlive them (the Agent owns it).
struct V2Context {
    const AgentConfig& config;
    LocalPool& pool;
    Logger& log;
    V2Limits limits{};
    std::size_t inFlight = 0;  ///< exchanges running now
};

/// Serves one stream to the end: validates the request (400), reaches the local app (502 if
/// unreachable, 504 if it does not answer in time), streams both bodies, logs one line when
/// the response head goes out (a warning if the stream breaks later). Holds `mux` so the
/// session outlives the stream.
boost::asio::awaitable<void> serveV2Stream(V2Context& context, std::shared_ptr<net::V2Mux> mux,
                                           std::shared_ptr<net::V2Stream> stream,
                                           protocol::v2::ReceivedRequest head, bool endStream);

}  // namespace nexus::client

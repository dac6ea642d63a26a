// SPDX-License-Identifier: AGPL-3.0-or-later
// The agent side of one v2 stream: the relay's request goes to the local app over HTTP/1.1 as
// it arrives, and the local response streams back (SSE, large downloads, a WebSocket pipe),
// paced by the stream's flow-control window.
#pragma once

#include "client/agent_config.hpp"
#include "client/agent_status.hpp"
#include "client/local_pool.hpp"
#include "net/v2/mux.hpp"

#include <cstddef>
#include <memory>

namespace nexus::client {

/// Shared by every exchange of the agent; must outlive them (the Agent owns it).
struct V2Context {
    const AgentConfig& config;
    LocalPool& pool;
    AgentStatusBoard& board;            ///< told of each stream and request
    V2Limits limits = config.v2Limits;  ///< the operator's; tests shorten them
    std::size_t inFlight = 0;           ///< exchanges running now
};

/// Serves one stream to the end: validates the request (400), reaches the local app (502 if
/// unreachable, 504 if it does not answer in time), streams both bodies, reports the request
/// to the board when the response head goes out and at its end. Holds `mux` so the session
/// outlives the stream.
boost::asio::awaitable<void> serveV2Stream(V2Context& context, std::shared_ptr<net::V2Mux> mux,
                                           std::shared_ptr<net::V2Stream> stream,
                                           protocol::v2::ReceivedRequest head, bool endStream);

}  // namespace nexus::client

// SPDX-License-Identifier: AGPL-3.0-or-later
// readWhileInUse: the tunnel-side read of an upgraded pipe, on the relay and on the agent.
#include "net/pipe_activity.hpp"

namespace nexus::net {

boost::asio::awaitable<std::optional<std::string>> readWhileInUse(V2Stream& stream,
                                                                  PipeActivity& activity) {
    for (;;) {
        auto chunk = co_await stream.read(activity.remaining());
        if (chunk) {
            activity.moved();
            co_return chunk;
        }
        if (stream.peerEnded() || stream.wasReset() || activity.idle()) {
            co_return std::nullopt;
        }
        // Silent peer, but the other direction moved meanwhile: the pipe is in use.
    }
}

}  // namespace nexus::net

// SPDX-License-Identifier: AGPL-3.0-or-later
// The agent's half of the handshake: `register` with the slug, the token and the features it
// offers, then the relay's `registered`, which says yes (and which protocol follows), no (and
// why), or that another agent still holds the slug.
#pragma once

#include "client/agent_config.hpp"
#include "net/frame_connection.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace nexus::client {

struct Registration {
    enum class Outcome {
        Accepted,   ///< registered; useV2 says which framing follows
        Rejected,   ///< reason: the relay's words ("Invalid slug or token")
        StillHeld,  ///< asked without takeover; another agent still serves the slug (reason)
        Failed,     ///< no usable answer; reason says why
    };
    Outcome outcome = Outcome::Failed;
    bool useV2 = false;
    std::string reason;
};

/// Sends `register` on a fresh connection and reads the answer within the registration
/// timeout. `noTakeover`: register only if no agent serves the slug (after being replaced).
/// On Accepted with v2 the connection is switched to v2 framing.
boost::asio::awaitable<Registration> registerSlug(net::FrameConnection& connection,
                                                  const AgentConfig& config, bool noTakeover);

}  // namespace nexus::client

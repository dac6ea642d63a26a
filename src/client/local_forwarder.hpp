// SPDX-License-Identifier: AGPL-3.0-or-later
// Performs a tunnelled request against the configured local address, and nothing else:
// origin-form targets only, no redirects followed, a keep-alive connection pool.
#pragma once

#include "client/agent_config.hpp"
#include "client/local_pool.hpp"
#include "protocol/v1_messages.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string_view>

namespace nexus::client {

class LocalForwarder {
public:
    /// `pool` is shared with the v2 path and must outlive the forwarder.
    LocalForwarder(const AgentConfig& config, LocalPool& pool);

    struct Outcome {
        protocol::v1::Response response;  ///< the local app's, or the agent's own 400/502
        ErrorCode failure;                ///< why the local request failed, for the log
    };

    /// Always produces a response.
    boost::asio::awaitable<Outcome> forward(const protocol::v1::Request& request);

    /// Largest local response body that still fits one v1 frame after base64.
    static constexpr std::size_t kMaxBody = protocol::v1::kMaxBodyInOneFrame;

private:
    const AgentConfig& config_;
    LocalPool& pool_;
};

/// Origin form only: "/" then visible ASCII, never "//host" (both protocol versions).
bool isOriginForm(std::string_view target);

/// The agent's own answers, with the deployed texts.
protocol::v1::Response agentError(const std::string& id, int status, std::string body);

}  // namespace nexus::client

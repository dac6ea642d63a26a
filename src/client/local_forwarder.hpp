// SPDX-License-Identifier: AGPL-3.0-or-later
// Performs a tunnelled request against the configured local address, and nothing else:
// origin-form targets only, no redirects followed, a keep-alive connection pool.
#pragma once

#include "client/agent_config.hpp"
#include "protocol/v1_messages.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <memory>
#include <vector>

namespace nexus::client {

class LocalForwarder {
public:
    LocalForwarder(boost::asio::any_io_executor executor, const AgentConfig& config);

    struct Outcome {
        protocol::v1::Response response;  ///< the local app's, or the agent's own 400/502
        ErrorCode failure;                ///< why the local request failed, for the log
    };

    /// Always produces a response.
    boost::asio::awaitable<Outcome> forward(const protocol::v1::Request& request);

    /// Largest local response body that still fits one v1 frame after base64.
    static constexpr std::size_t kMaxBody = (16U * 1024U * 1024U - 64U * 1024U) / 4U * 3U;

private:
    using Stream = boost::beast::tcp_stream;

    boost::asio::awaitable<Result<std::unique_ptr<Stream>>> checkout(bool& reused);
    void checkin(std::unique_ptr<Stream> stream);

    boost::asio::any_io_executor executor_;
    const AgentConfig& config_;
    std::vector<std::unique_ptr<Stream>> idle_;
};

/// The agent's own answers, with the deployed texts.
protocol::v1::Response agentError(const std::string& id, int status, std::string body);

}  // namespace nexus::client

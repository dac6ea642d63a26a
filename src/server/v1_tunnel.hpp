// SPDX-License-Identifier: AGPL-3.0-or-later
// A tunnel speaking the deployed v1 protocol: whole bodies in base64 JSON frames, concurrent
// requests matched to responses by id, a ping every 30 s.
#pragma once

#include "net/completion.hpp"
#include "net/frame_connection.hpp"
#include "protocol/v1_messages.hpp"
#include "server/server_context.hpp"
#include "server/tunnel.hpp"

#include <memory>
#include <string>
#include <unordered_map>

namespace nexus::server {

class V1Tunnel final : public Tunnel, public std::enable_shared_from_this<V1Tunnel> {
public:
    V1Tunnel(ServerContext& context, std::shared_ptr<net::FrameConnection> connection,
             TunnelInfo info, bool headerList);

    boost::asio::awaitable<bool> serve(HttpExchange& exchange) override;
    void close(ErrorCode reason) override;
    void supersede(const std::string& reason) override;

    /// Reads the agent's frames until the session ends; returns why it ended.
    boost::asio::awaitable<ErrorCode> run() override;
    std::chrono::seconds idleTimeout() const override { return context_.config.heartbeatTimeout; }

    static constexpr std::size_t kMaxBody = protocol::v1::kMaxBodyInOneFrame;

private:
    using PendingResponse = net::Completion<protocol::v1::Response>;

    boost::asio::awaitable<void> pingLoop();
    void dispatch(protocol::v1::ClientMessage message);
    boost::asio::awaitable<bool> replyFromAgent(HttpExchange& exchange,
                                                const protocol::v1::Response& response, bool head,
                                                bool keepAlive);

    ServerContext& context_;
    std::shared_ptr<net::FrameConnection> connection_;
    bool headerList_;
    std::unordered_map<std::string, std::shared_ptr<PendingResponse>> pending_;
    boost::asio::steady_timer pingTimer_;
    ErrorCode closeReason_;
};

}  // namespace nexus::server

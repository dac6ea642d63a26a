// SPDX-License-Identifier: AGPL-3.0-or-later
// A tunnel speaking protocol v2: each visitor request is a stream; bodies flow in both
// directions as they arrive, paced by flow control; a 101 turns the stream into a raw pipe.
#pragma once

#include "net/v2/direct_send.hpp"
#include "net/v2/mux.hpp"
#include "server/server_context.hpp"
#include "server/tunnel.hpp"

#include <memory>

namespace nexus::server {

/// How the visitor's upload went, for the download running beside it.
struct UploadState {
    bool done = false;       ///< the upload is over, whatever its outcome
    bool malformed = false;  ///< the visitor's body was broken (framing, cut short, stalled)
};

class V2Tunnel final : public Tunnel, public std::enable_shared_from_this<V2Tunnel> {
public:
    V2Tunnel(ServerContext& context, std::shared_ptr<net::FrameConnection> connection,
             TunnelInfo info);

    boost::asio::awaitable<bool> serve(HttpExchange& exchange) override;
    void close(ErrorCode reason) override;
    void supersede(const std::string& reason) override;
    void goAway(std::chrono::milliseconds retryAfter) override;

    /// Runs the session until it ends; returns why.
    boost::asio::awaitable<ErrorCode> run() override;
    std::chrono::seconds idleTimeout() const override {
        return std::chrono::duration_cast<std::chrono::seconds>(protocol::v2::kPeerTimeout);
    }

private:
    boost::asio::awaitable<bool> upload(HttpExchange& exchange,
                                        const std::shared_ptr<net::V2Stream>& stream,
                                        UploadState& state);
    boost::asio::awaitable<net::DirectSendEnd> uploadKnownLength(HttpExchange& exchange,
                                                                 net::V2Stream& stream,
                                                                 std::uint64_t length);
    boost::asio::awaitable<bool> download(HttpExchange& exchange,
                                          const std::shared_ptr<net::V2Stream>& stream, bool head,
                                          bool keepAlive, const UploadState& upload,
                                          const std::string& webSocketKey);
    boost::asio::awaitable<bool> pipe(HttpExchange& exchange,
                                      const std::shared_ptr<net::V2Stream>& stream,
                                      const protocol::v2::ReceivedResponse& response,
                                      const std::string& key);

    ServerContext& context_;
    std::shared_ptr<net::V2Mux> mux_;
};

}  // namespace nexus::server

// SPDX-License-Identifier: AGPL-3.0-or-later
// The v2 session: a stream multiplexer on the connection; each stream the relay opens is one
// exchange with the local app (v2_exchange.cpp), until the connection or a GOAWAY ends it.
#include "client/agent_session.hpp"
#include "net/spawn.hpp"
#include "net/v2/mux.hpp"

#include <boost/asio/co_spawn.hpp>

namespace nexus::client {

namespace asio = boost::asio;
namespace v2 = protocol::v2;

namespace {

std::string describeGoaway(v2::GoawayCode code) {
    switch (code) {
        case v2::GoawayCode::ProtocolError: return "protocol error";
        case v2::GoawayCode::Superseded: return "a newer session took the slug over";
        case v2::GoawayCode::Revoked: return "slug revoked";
        case v2::GoawayCode::Shutdown: break;
    }
    return "shutting down";
}

class V2Session final : public AgentSession {
public:
    V2Session(SessionParts& parts, std::shared_ptr<net::FrameConnection> connection)
        : parts_(parts), connection_(std::move(connection)) {}

    int protocol() const override { return 2; }

    asio::awaitable<SessionEnd> run() override {
        auto mux = std::make_shared<net::V2Mux>(parts_.executor, connection_);
        std::weak_ptr<net::V2Mux> weak = mux;  // the mux owns these handlers: no cycle
        auto& board = parts_.board;
        mux->onStalledReset([&board](std::size_t streams, std::int64_t bytes) {
            board.emit({.kind = AgentEventKind::UploadsReset,
                        .count = streams,
                        .bytes = static_cast<std::uint64_t>(bytes)});
        });
        auto& v2 = parts_.v2;
        mux->onRequest([&v2, executor = parts_.executor, weak](
                           std::shared_ptr<net::V2Stream> stream, v2::ReceivedRequest head,
                           bool endStream) {
            auto owner = weak.lock();
            if (!owner) {
                return;
            }
            if (v2.inFlight >= v2.config.maxInFlight) {
                stream->reset(v2::ResetCode::Refused);  // the relay answers 503; safe to retry
                return;
            }
            asio::co_spawn(
                executor,
                serveV2Stream(v2, std::move(owner), std::move(stream), std::move(head), endStream),
                net::reportFailures("a v2 request from the relay"));
        });
        const ErrorCode reason = co_await mux->run();
        SessionEnd end;
        if (const auto& goaway = mux->peerGoaway();
            goaway && goaway->code == v2::GoawayCode::Superseded) {
            end.replacedBy = goaway->reason;
        } else if (goaway) {
            end.retryAfter = std::chrono::milliseconds(goaway->retryAfterMs);
            end.revoked = goaway->code == v2::GoawayCode::Revoked;
            // An unknown code counts as Shutdown (docs/protocol.md §4.3).
            end.restarting = !end.revoked && goaway->code != v2::GoawayCode::ProtocolError;
            board.emit({.kind = AgentEventKind::GoingAway,
                        .detail = describeGoaway(goaway->code),
                        .delay = end.retryAfter});
        }
        end.reason = end.restarting ? std::string("The relay is restarting")
                                    : describeSessionEnd(reason, v2::kPeerTimeout);
        connection_->close();
        co_return end;
    }

private:
    SessionParts& parts_;
    std::shared_ptr<net::FrameConnection> connection_;
};

}  // namespace

std::unique_ptr<AgentSession> makeV2Session(SessionParts& parts,
                                            std::shared_ptr<net::FrameConnection> connection) {
    return std::make_unique<V2Session>(parts, std::move(connection));
}

}  // namespace nexus::client

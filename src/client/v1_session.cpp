// SPDX-License-Identifier: AGPL-3.0-or-later
// The v1 session: the relay's `request` frames, each forwarded whole to the local app and
// answered with one `response` frame; `ping` answered with `heartbeat`.
#include "client/agent_session.hpp"
#include "client/v2_local_http.hpp"
#include "net/spawn.hpp"
#include "protocol/v1_messages.hpp"

#include <boost/asio/co_spawn.hpp>

namespace nexus::client {

namespace asio = boost::asio;
namespace v1 = protocol::v1;

namespace {

class V1Session final : public AgentSession {
public:
    V1Session(SessionParts& parts, std::shared_ptr<net::FrameConnection> connection)
        : parts_(parts), connection_(std::move(connection)) {}

    int protocol() const override { return 1; }

    asio::awaitable<SessionEnd> run() override {
        const auto& config = parts_.config;
        connection_->setIdleTimeout(config.heartbeatTimeout);
        SessionEnd end;
        for (;;) {
            auto frame = co_await connection_->read();
            if (!frame) {
                end.reason = describeSessionEnd(frame.error(), config.heartbeatTimeout);
                break;
            }
            auto message = v1::decodeServerMessage(*frame);
            if (!message) {
                end.reason = "bad frame from relay (" + message.error().message() + ")";
                break;
            }
            if (auto* request = std::get_if<v1::Request>(&*message)) {
                if (*inFlight_ >= config.maxInFlightV1) {
                    connection_->send(v1::encode(
                        agentError(request->id, 503, "Too many requests in flight on this agent")));
                    continue;
                }
                asio::co_spawn(parts_.executor,
                               serveRequest(parts_, connection_, inFlight_, std::move(*request)),
                               net::reportFailures("a v1 request from the relay"));
            } else if (std::holds_alternative<v1::Ping>(*message)) {
                connection_->send(v1::encode(v1::Heartbeat{}));
            } else if (const auto* again = std::get_if<v1::Registered>(&*message);
                       again != nullptr && !again->ok && again->error &&
                       again->error->starts_with(v1::kReplacedByAnotherAgent)) {
                // Our relay's word that another agent took over: "... from ADDRESS".
                end.replacedBy = *again->error;
                end.reason = "replaced by another agent";
                break;
            }
            // Any other repeated `registered` is ignored, as the deployed agent does.
        }
        connection_->close();
        co_return end;
    }

private:
    // Holds the parts by reference (the Agent outlives its requests' coroutines, which end
    // when the loop stops) and the in-flight count by shared pointer (it outlives the session).
    static asio::awaitable<void> serveRequest(SessionParts& parts,
                                              std::shared_ptr<net::FrameConnection> connection,
                                              std::shared_ptr<std::size_t> inFlight,
                                              v1::Request request) {
        ++*inFlight;
        parts.board.streamOpened();
        const auto started = std::chrono::steady_clock::now();
        auto outcome = co_await parts.forwarder.forward(request);
        std::string json = v1::encode(outcome.response);
        if (json.size() > protocol::kMaxFrameSize) {
            // Too big for one v1 frame: fail this request, never the whole tunnel.
            outcome.response = agentError(request.id, 502, "Response too large for this tunnel");
            json = v1::encode(outcome.response);
        }
        connection->send(json);
        --*inFlight;
        parts.board.streamClosed();
        RequestEvent event{RequestEvent::Phase::Head,
                           requestIdOf(request.headers),
                           request.method,
                           pathForLog(request.path),
                           outcome.response.status,
                           std::chrono::steady_clock::now() - started,
                           outcome.failure};
        parts.board.report(event);
        event.phase = RequestEvent::Phase::Done;  // the whole body went with the head
        parts.board.report(event);
    }

    SessionParts& parts_;
    std::shared_ptr<net::FrameConnection> connection_;
    std::shared_ptr<std::size_t> inFlight_ = std::make_shared<std::size_t>(0);
};

}  // namespace

std::unique_ptr<AgentSession> makeV1Session(SessionParts& parts,
                                            std::shared_ptr<net::FrameConnection> connection) {
    return std::make_unique<V1Session>(parts, std::move(connection));
}

}  // namespace nexus::client

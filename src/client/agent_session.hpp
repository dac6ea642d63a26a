// SPDX-License-Identifier: AGPL-3.0-or-later
// The agent's side of a registered tunnel, whatever the protocol: a v1 session (one JSON
// request and response per frame) or a v2 session (multiplexed streams), behind one
// interface, as the relay's Tunnel is. The registration before it is in registration.hpp;
// the reconnect loop around both in agent.cpp.
#pragma once

#include "client/agent_config.hpp"
#include "client/agent_status.hpp"
#include "client/local_forwarder.hpp"
#include "client/v2_exchange.hpp"
#include "net/frame_connection.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

namespace nexus::client {

/// How a session ended, for the reconnect loop.
struct SessionEnd {
    std::string reason;                       ///< for "Session ended: …"
    std::string replacedBy;                   ///< set when another agent took the slug over
    std::chrono::milliseconds retryAfter{0};  ///< the relay's GOAWAY asked for this wait
    bool revoked = false;                     ///< the relay said the slug is revoked
    /// The relay said it is shutting down or restarting (GOAWAY code 0): no failure of ours.
    bool restarting = false;
};

/// What every session of one agent shares; the Agent owns all of it.
struct SessionParts {
    boost::asio::any_io_executor executor;
    const AgentConfig& config;
    AgentStatusBoard& board;
    LocalForwarder& forwarder;  ///< v1
    V2Context& v2;
};

class AgentSession {
public:
    virtual ~AgentSession() = default;

    /// Serves the relay's requests until the connection ends; closes it before returning.
    virtual boost::asio::awaitable<SessionEnd> run() = 0;

    /// 1 or 2.
    virtual int protocol() const = 0;
};

std::unique_ptr<AgentSession> makeV1Session(SessionParts& parts,
                                            std::shared_ptr<net::FrameConnection> connection);
std::unique_ptr<AgentSession> makeV2Session(SessionParts& parts,
                                            std::shared_ptr<net::FrameConnection> connection);

/// Why a connection ended, in words: a timeout after `heartbeat` of silence, the relay's
/// close, or the error's own message.
std::string describeSessionEnd(const ErrorCode& ec, std::chrono::seconds heartbeat);

/// The relay's x-request-id among `headers` (pairs of name and value), empty if absent; at
/// most 128 bytes of it, which is more than any id generator writes.
template <typename Headers>
std::string_view requestIdOf(const Headers& headers) {
    constexpr std::string_view kName = "x-request-id";
    for (const auto& [name, value] : headers) {
        if (name.size() == kName.size() &&
            std::equal(kName.begin(), kName.end(), name.begin(),
                       [](char a, char b) { return a == (b | 0x20); })) {
            return std::string_view(value).substr(0, 128);
        }
    }
    return {};
}

}  // namespace nexus::client

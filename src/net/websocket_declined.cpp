// SPDX-License-Identifier: AGPL-3.0-or-later
#include "net/websocket_declined.hpp"

#include <boost/beast/http/status.hpp>

#include <string>

namespace nexus::net {

namespace {

class WebSocketDeclinedCategory final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "nexus.websocket_declined"; }

    std::string message(int value) const override {
        const auto status = static_cast<unsigned>(value);
        const auto reason =
            boost::beast::http::obsolete_reason(boost::beast::http::int_to_status(status));
        std::string answer = "the server answered " + std::to_string(status);
        if (!reason.empty() && reason != "<unknown-status>") {
            answer += ' ';
            answer.append(reason.data(), reason.size());
        }
        // The usual causes, by where they come from on the path agent -> proxy -> relay.
        if (status == 502 || status == 503 || status == 504) {
            return answer +
                   ": the proxy in front of the relay cannot reach the relay's WebSocket door "
                   "(is the relay running, with --ws-port?)";
        }
        if (status == 404) {
            return answer + ": nothing serves WebSockets at this path (the relay's is /tunnel)";
        }
        if (status >= 300 && status < 400) {
            return answer + ": a redirect, which the agent does not follow (check the URL)";
        }
        return answer + " instead of 101 Switching Protocols";
    }
};

}  // namespace

const boost::system::error_category& webSocketDeclinedCategory() noexcept {
    static const WebSocketDeclinedCategory kCategory;
    return kCategory;
}

}  // namespace nexus::net

// SPDX-License-Identifier: AGPL-3.0-or-later
// Translation between v2 heads and the HTTP/1.1 messages exchanged with the local app: which
// headers cross, how the request body is framed, what the response head carries.
#pragma once

#include "client/agent_config.hpp"
#include "client/local_response_head.hpp"
#include "protocol/v2_frames.hpp"

#include <boost/beast/http/fields.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nexus::client {

/// The request carries `upgrade: websocket` (its `connection: upgrade` and `upgrade` headers
/// then cross to the local app, and a 101 turns the stream into a pipe).
bool isWebSocketUpgrade(protocol::v2::HeaderBlockView headers);

/// A request head for the local app, as the bytes that go on the wire.
struct LocalRequest {
    std::string head;      ///< request line, fields and the empty line
    bool chunked = false;  ///< the body follows in the chunked coding
};

/// The request head for the local app. Hop-by-hop headers are dropped (upgrade kept for a
/// WebSocket upgrade), Host passes through unless config.hostHeader overrides it. With a body
/// (`hasBody`), a valid content-length is kept, else the body goes chunked. Method, target and
/// fields were checked by the v2 decoder and again here: nothing can split the head.
LocalRequest makeLocalRequest(const protocol::v2::ReceivedRequest& head, bool hasBody,
                              bool webSocket, const AgentConfig& config);

/// Reads the fields of a head whose status line `reader` has read into a RESPONSE frame
/// appended to `out`: lowercase names, repeats kept, hop-by-hop fields dropped (but `upgrade`
/// and `connection` on a 101), fields that cannot travel dropped, END_STREAM when no body
/// follows. Returns how the body is delimited. ProtocolViolation for a malformed head,
/// FrameTooLarge for one beyond the frame's limit; `out` is then unchanged.
Result<LocalBodyFraming> appendResponseFrame(std::string& out, std::uint32_t stream,
                                             ResponseHeadReader& reader, bool headRequest);

/// The trailer fields of a chunked response: the fields the parser added after the first
/// `headerFields` (Beast appends trailers to the header). Same filter as the head, and never a
/// field that frames or routes the message.
protocol::v2::HeaderList trailerFields(const boost::beast::http::fields& fields,
                                       std::size_t headerFields);

/// The path without its query string, for logs (a query may carry tokens or personal data).
std::string_view pathForLog(std::string_view target);

}  // namespace nexus::client

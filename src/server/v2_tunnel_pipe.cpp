// SPDX-License-Identifier: AGPL-3.0-or-later
// V2Tunnel after a 101: the visitor's connection and the stream become one byte pipe, once
// the instance's answer has proved it really switched to WebSocket.
#include "server/v2_tunnel.hpp"

#include "common/crypto.hpp"
#include "net/http_headers.hpp"
#include "net/v2/byte_pipe.hpp"
#include "server/http_reply.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/sha.h>

#include <array>
#include <memory>

namespace nexus::server {

namespace asio = boost::asio;
namespace v2 = protocol::v2;

namespace {

// RFC 6455 §4.2.2: the accept value proves the instance really speaks WebSocket for this key.
std::string expectedAccept(std::string_view key) {
    const std::string input = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    std::array<unsigned char, 20> digest{};
    SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
    return crypto::base64Encode(
        std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

}  // namespace

asio::awaitable<bool> V2Tunnel::pipe(HttpExchange& exchange,
                                     const std::shared_ptr<net::V2Stream>& stream,
                                     const v2::ReceivedResponse& response, const std::string& key) {
    // Switch only after a real, valid 101: anything else keeps HTTP framing (no smuggling).
    if (key.empty() || !net::listsToken(response.header("upgrade"), "websocket") ||
        response.header("sec-websocket-accept") != expectedAccept(key)) {
        stream->reset(v2::ResetCode::ProtocolError);
        co_return co_await answer(exchange, Answer::InvalidUpgrade, false);
    }
    std::string head =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\n";
    for (const auto& [name, value] : response.headers()) {
        if (net::isPassableField(name, value)) {
            net::appendField(head, name, value);
        }
    }
    head += "\r\n";
    exchange.record.answered(101);
    exchange.stream.expires_never();
    auto [ec, n] = co_await asio::async_write(exchange.stream, asio::buffer(head),
                                              asio::as_tuple(asio::use_awaitable));
    if (ec) {
        stream->reset(v2::ResetCode::Cancel);
        co_return false;
    }
    // Bytes the visitor sent right after its request are already in the parser's buffer.
    std::string early(static_cast<const char*>(exchange.buffer.data().data()),
                      exchange.buffer.size());
    exchange.buffer.consume(exchange.buffer.size());
    const auto outcome =
        co_await net::pipeUpgraded(exchange.stream, *stream, std::move(early),
                                   context_.config.upgradeIdleTimeout, v2::ResetCode::Cancel);
    exchange.record.bytesIn += outcome.fromSocket;
    exchange.record.bytesOut += outcome.toSocket;
    co_return false;  // the connection belonged to the WebSocket; it is not reused
}

}  // namespace nexus::server

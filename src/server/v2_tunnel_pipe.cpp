// SPDX-License-Identifier: AGPL-3.0-or-later
// V2Tunnel after a 101: the visitor's connection and the stream become one byte pipe, once
// the instance's answer has proved it really switched to WebSocket.
#include "server/v2_tunnel.hpp"

#include "common/crypto.hpp"
#include "net/http_headers.hpp"
#include "server/http_reply.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/sha.h>

#include <array>
#include <memory>

namespace nexus::server {

namespace asio = boost::asio;
namespace v2 = protocol::v2;
using namespace boost::asio::experimental::awaitable_operators;
using asio::ip::tcp;

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
    net::PipeActivity activity(context_.config.upgradeIdleTimeout);
    auto [up, down] =
        co_await (pipeUp(exchange, stream, activity) && pipeDown(exchange, stream, activity));
    (void)up;
    (void)down;
    co_return false;  // the connection belonged to the WebSocket; it is not reused
}

asio::awaitable<bool> V2Tunnel::pipeUp(HttpExchange& exchange,
                                       const std::shared_ptr<net::V2Stream>& stream,
                                       net::PipeActivity& activity) {
    // Bytes the visitor sent right after its request are already in the parser's buffer.
    if (exchange.buffer.size() > 0) {
        const std::string early(static_cast<const char*>(exchange.buffer.data().data()),
                                exchange.buffer.size());
        exchange.buffer.consume(exchange.buffer.size());
        exchange.record.bytesIn += early.size();
        if (!co_await stream->write(early, context_.config.upgradeIdleTimeout)) {
            co_return false;
        }
    }
    // Small: an open WebSocket keeps it for its whole life, and there may be thousands.
    const std::size_t size = 16 * 1024;
    const auto buffer = std::make_unique_for_overwrite<char[]>(size);
    for (;;) {
        // No deadline of its own: pipeDown ends the pipe once neither direction has moved.
        auto [ec, n] = co_await exchange.stream.socket().async_read_some(
            asio::buffer(buffer.get(), size), asio::as_tuple(asio::use_awaitable));
        if (n > 0) {
            activity.moved();
            exchange.record.bytesIn += n;
            if (!co_await stream->write(std::string_view(buffer.get(), n),
                                        context_.config.upgradeIdleTimeout)) {
                co_return false;
            }
        }
        if (ec) {
            stream->finish();
            co_return ec == asio::error::eof;
        }
    }
}

asio::awaitable<bool> V2Tunnel::pipeDown(HttpExchange& exchange,
                                         const std::shared_ptr<net::V2Stream>& stream,
                                         net::PipeActivity& activity) {
    for (;;) {
        auto chunk = co_await net::readWhileInUse(*stream, activity);
        if (!chunk) {
            ErrorCode ignored;
            if (stream->peerEnded()) {
                // The agent's half-close: the visitor may still finish its side of the close.
                exchange.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
                co_return true;
            }
            // Neither direction moved within the upgrade idle timeout, or the agent's reset
            // (a closed tunnel resets every stream): the pipe is over both ways. The reset lets the
            // agent drop its local connection now rather than at its own timeout, and the shutdown
            // wakes pipeUp's read of a visitor that would otherwise hold the stream open by never
            // closing.
            stream->reset(v2::ResetCode::Timeout);
            exchange.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
            exchange.stream.socket().cancel(ignored);
            co_return false;
        }
        // A visitor that reads nothing for the whole timeout ends the pipe: its unread bytes
        // would otherwise hold the stream, and the agent's side of it, for ever.
        exchange.stream.expires_after(context_.config.upgradeIdleTimeout);
        auto [ec, n] = co_await asio::async_write(exchange.stream, asio::buffer(*chunk),
                                                  asio::as_tuple(asio::use_awaitable));
        if (ec) {
            stream->reset(v2::ResetCode::Cancel);
            co_return false;
        }
        exchange.record.bytesOut += n;
    }
}

}  // namespace nexus::server

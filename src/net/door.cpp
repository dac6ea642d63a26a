// SPDX-License-Identifier: AGPL-3.0-or-later
// classifyFirstByte and sniffDoor (MSG_PEEK with a deadline).
#include "net/door.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace nexus::net {

using namespace boost::asio::experimental::awaitable_operators;

Door classifyFirstByte(unsigned char byte) {
    switch (byte) {
        case 0x16: return Door::Tls;
        case 0x00: return Door::PlainV1;
        case 'G': return Door::Http;
        default: return Door::Unknown;
    }
}

ErrorCode classifyForeignAnswer(std::string_view firstBytes) {
    if (firstBytes.empty()) {
        return {};
    }
    // A status line may arrive in pieces: four bytes already tell.
    const auto head = firstBytes.substr(0, 5);
    if (head.size() >= 4 && std::string_view("HTTP/").starts_with(head)) {
        return makeError(Errc::HttpServer);
    }
    // A TLS record: content type handshake (0x16) or alert (0x15), then version major 3.
    const auto type = static_cast<unsigned char>(firstBytes[0]);
    if ((type == 0x16 || type == 0x15) && (firstBytes.size() < 2 || firstBytes[1] == 0x03)) {
        return makeError(Errc::TlsServer);
    }
    return makeError(Errc::NotRelay);
}

asio::awaitable<Result<Door>> sniffDoor(tcp::socket& socket,
                                        std::chrono::steady_clock::duration timeout) {
    unsigned char first = 0;
    asio::steady_timer timer(socket.get_executor(), timeout);
    auto result = co_await (socket.async_receive(asio::buffer(&first, 1), tcp::socket::message_peek,
                                                 asio::as_tuple(asio::use_awaitable)) ||
                            timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (result.index() == 1) {
        co_return makeError(Errc::Timeout);
    }
    auto [ec, n] = std::get<0>(result);
    if (ec) {
        co_return ec;
    }
    if (n == 0) {
        co_return ErrorCode(asio::error::eof);
    }
    co_return classifyFirstByte(first);
}

}  // namespace nexus::net

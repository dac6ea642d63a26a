// SPDX-License-Identifier: AGPL-3.0-or-later
#include "net/v2/direct_send.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <string>

namespace nexus::net {

namespace {
// One read per frame: large enough that a fast body costs few system calls, small enough
// that a small window is not waited for until it can hold a whole piece.
constexpr std::size_t kPiece = 64 * 1024;
}  // namespace

asio::awaitable<DirectSendEnd> sendFromSocket(V2Stream& stream, TimedStream& socket,
                                              std::uint64_t remaining,
                                              std::chrono::steady_clock::duration idle,
                                              ErrorCode& error) {
    while (remaining > 0) {
        const auto most = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, kPiece));
        const std::size_t reserved = co_await stream.reserveWindow(most, idle);
        if (reserved == 0) {
            co_return DirectSendEnd::NoWindow;
        }
        std::string frame(v2::kHeaderSize + reserved, '\0');
        socket.expires_after(idle);
        auto [ec, n] =
            co_await socket.async_read_some(asio::buffer(frame.data() + v2::kHeaderSize, reserved),
                                            asio::as_tuple(asio::use_awaitable));
        frame.resize(v2::kHeaderSize + n);
        remaining -= n;
        if (!stream.sendReserved(std::move(frame), reserved, remaining == 0)) {
            co_return DirectSendEnd::StreamClosed;
        }
        if (ec && remaining > 0) {
            error = ec;  // eof included: the peer closed before the announced length
            co_return DirectSendEnd::ReadFailed;
        }
    }
    co_return DirectSendEnd::Complete;
}

}  // namespace nexus::net

// SPDX-License-Identifier: AGPL-3.0-or-later
// The bytes of a v2 exchange that go to the local app: the request head and body. The response
// (and an upgraded connection's pipe) comes back in v2_download.cpp.
#include "client/v2_exchange_impl.hpp"
#include "net/http_headers.hpp"

#include <boost/asio/write.hpp>

#include <array>
#include <tuple>

namespace nexus::client::detail {

namespace {
// Small: an open WebSocket keeps it for its whole life, and there may be thousands.
}  // namespace

// The request line and headers, written whole; the body (if any) follows in upload().
asio::awaitable<bool> V2Exchange::sendHead() {
    local_->expires_after(c_.limits.idleTimeout);
    auto [ec, n] = co_await asio::async_write(*local_, asio::buffer(request_.head), kTuple);
    headWriteFailed_ = static_cast<bool>(ec);
    co_return !ec;
}

asio::awaitable<bool> V2Exchange::upload() {
    if (!co_await sendHead()) {
        co_return false;  // download() sees the broken connection and answers 502
    }
    const auto declared = v2::contentLength(head_.headers());
    std::uint64_t sent = 0;
    for (;;) {
        auto chunk = co_await stream_->read(c_.limits.idleTimeout);
        if (!chunk) {
            break;
        }
        sent += chunk->size();
        if (declared && sent > *declared) {
            break;  // more than announced
        }
        if (chunk->empty()) {
            continue;  // an empty chunk would end a chunked body
        }
        local_->expires_after(c_.limits.idleTimeout);
        ErrorCode ec;
        if (request_.chunked) {
            const std::string sizeLine = net::chunkSizeLine(chunk->size());
            const std::array<asio::const_buffer, 3> pieces{
                asio::buffer(sizeLine), asio::buffer(*chunk), asio::buffer("\r\n", 2)};
            std::tie(ec, std::ignore) = co_await asio::async_write(*local_, pieces, kTuple);
        } else {
            std::tie(ec, std::ignore) =
                co_await asio::async_write(*local_, asio::buffer(*chunk), kTuple);
        }
        if (ec) {
            co_return false;  // the app stopped reading; its response may still come
        }
    }
    if (stream_->wasReset() || !stream_->peerEnded()) {
        abandon(v2::ResetCode::Timeout);  // the relay gave up, or the body stalled
        co_return false;
    }
    if (declared && sent != *declared) {
        abandon(v2::ResetCode::ProtocolError);  // the local framing would be wrong
        co_return false;
    }
    ErrorCode ec;
    if (request_.chunked) {
        local_->expires_after(c_.limits.idleTimeout);
        std::tie(ec, std::ignore) =
            co_await asio::async_write(*local_, asio::buffer("0\r\n\r\n", 5), kTuple);
    }
    uploadClean_ = !ec;
    co_return uploadClean_;
}

}  // namespace nexus::client::detail

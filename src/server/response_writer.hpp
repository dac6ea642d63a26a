// SPDX-License-Identifier: AGPL-3.0-or-later
// Copies the body of a v2 response to the visitor with the relay's own framing, in as few
// writes as the data allows: whatever has arrived goes out in one gathered write, the head
// and the end with it when they are there too.
#pragma once

#include "net/v2/mux.hpp"
#include "server/response_framing.hpp"
#include "server/tunnel.hpp"

#include <boost/asio/buffer.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace nexus::server {

class ResponseWriter {
public:
    ResponseWriter(HttpExchange& exchange, net::V2Stream& stream, ResponseFraming framing,
                   std::chrono::steady_clock::duration idle)
        : exchange_(exchange), stream_(stream), framing_(framing), idle_(idle) {}

    /// Bytes to write before the next body bytes (the response head).
    void prepend(std::string bytes) { pending_ = std::move(bytes); }

    /// Writes what was prepended now; false if the visitor is gone.
    boost::asio::awaitable<bool> flush();

    /// The body until its end, then the end (last chunk and trailers). True only if the body
    /// was complete: all the announced length, the instance's end, nothing more.
    boost::asio::awaitable<bool> copyBody();

private:
    boost::asio::awaitable<bool> write();

    HttpExchange& exchange_;
    net::V2Stream& stream_;
    const ResponseFraming framing_;
    const std::chrono::steady_clock::duration idle_;
    std::string pending_;
    std::vector<std::string> pieces_;  ///< body chunks of the write being built
    std::string sizeLine_;
    std::string end_;
    std::vector<boost::asio::const_buffer> buffers_;
};

}  // namespace nexus::server

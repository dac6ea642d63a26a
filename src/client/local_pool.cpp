// SPDX-License-Identifier: AGPL-3.0-or-later
// LocalPool: connect to the local app, keep idle keep-alive connections.
#include "client/local_pool.hpp"

#include "net/connect.hpp"

#include <poll.h>

namespace nexus::client {

namespace asio = boost::asio;

LocalPool::LocalPool(asio::any_io_executor executor, const AgentConfig& config)
    : executor_(std::move(executor)), config_(config) {}

asio::awaitable<Result<std::unique_ptr<LocalPool::Stream>>> LocalPool::checkout(bool& reused) {
    if (!idle_.empty()) {
        auto stream = std::move(idle_.back());
        idle_.pop_back();
        reused = true;
        co_return std::move(stream);
    }
    reused = false;
    const net::HostPort local{config_.localHost, config_.localPort};
    auto socket = co_await net::connectAny(local, std::chrono::seconds(5));
    if (!socket) {
        co_return socket.error();
    }
    ErrorCode ignored;
    socket->set_option(asio::ip::tcp::no_delay(true), ignored);
    co_return std::make_unique<Stream>(std::move(*socket));
}

void LocalPool::checkin(std::unique_ptr<Stream> stream) {
    if (idle_.size() < config_.maxIdleLocalConnections) {
        idle_.push_back(std::move(stream));
    }
}

bool LocalPool::looksReusable(Stream& stream) {
    pollfd descriptor{stream.socket().native_handle(), POLLIN, 0};
    // An idle HTTP/1.1 connection has nothing to read: readable means EOF, an error or junk.
    return ::poll(&descriptor, 1, 0) == 0;
}

}  // namespace nexus::client

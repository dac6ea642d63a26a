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
    while (!idle_.empty()) {
        auto idle = std::move(idle_.back());
        idle_.pop_back();
        if (hasNothingPending(*idle)) {
            reused = true;
            co_return idle;
        }
        idle->close();
    }
    reused = false;
    const net::HostPort local{config_.localHost, config_.localPort};
    auto socket = co_await net::connectAny(local, std::chrono::seconds(5));
    if (!socket) {
        co_return socket.error();
    }
    ErrorCode ignored;
    socket->set_option(asio::ip::tcp::no_delay(true), ignored);
    auto stream = std::make_unique<Stream>(std::move(*socket));
    stream->addressGeneration = addressGeneration_;
    co_return stream;
}

void LocalPool::localAddressChanged() {
    ++addressGeneration_;
    for (auto& idle : idle_) {
        idle->close();
    }
    idle_.clear();
}

void LocalPool::checkin(std::unique_ptr<Stream> stream) {
    if (idle_.size() < config_.maxIdleLocalConnections &&
        stream->addressGeneration == addressGeneration_) {
        idle_.push_back(std::move(stream));
    }
}

bool LocalPool::hasNothingPending(Stream& stream) {
    if (!stream.socket().is_open()) {
        return false;
    }
    // One system call that does not wait: readable means bytes, an EOF or an error.
    pollfd descriptor{stream.socket().native_handle(), POLLIN, 0};
    return ::poll(&descriptor, 1, 0) == 0;
}

}  // namespace nexus::client

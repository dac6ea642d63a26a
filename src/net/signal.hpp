// SPDX-License-Identifier: AGPL-3.0-or-later
// A condition variable for coroutines on one thread: waiters re-check their condition after
// every notify(), so a notify with nobody waiting is never lost.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <optional>

namespace nexus::net {

class Signal {
public:
    explicit Signal(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}

    /// Wakes every waiter.
    void notify() {
        if (timer_) {
            timer_->cancel();
        }
    }

    /// Waits for the next notify() or until `deadline`; returns false on the deadline.
    boost::asio::awaitable<bool> wait(std::chrono::steady_clock::time_point deadline) {
        if (std::chrono::steady_clock::now() >= deadline) {
            co_return false;
        }
        // Made on the first wait: a stream has two signals and most never wait on one, and
        // making a timer looks its service up under the io_context's lock.
        if (!timer_) {
            timer_.emplace(executor_);
        }
        timer_->expires_at(deadline);
        co_await timer_->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        co_return std::chrono::steady_clock::now() < deadline;
    }

private:
    boost::asio::any_io_executor executor_;
    std::optional<boost::asio::steady_timer> timer_;
};

}  // namespace nexus::net

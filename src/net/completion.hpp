// SPDX-License-Identifier: AGPL-3.0-or-later
// A one-shot result that one coroutine waits for with a deadline and another side fills in:
// a pending tunnel response, a directory answer from the worker thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <optional>

namespace nexus::net {

template <typename T>
class Completion {
public:
    explicit Completion(boost::asio::any_io_executor executor) : timer_(executor) {}

    /// Fills the result (first call wins) and wakes the waiter. Call on the waiter's executor.
    void complete(T value) {
        if (!done_) {
            done_ = true;
            value_ = std::move(value);
            timer_.cancel();
        }
    }

    /// Wakes the waiter with no result (the producer went away).
    void abandon() {
        done_ = true;
        timer_.cancel();
    }

    /// The result, or nullopt if the deadline passed or the producer abandoned it.
    boost::asio::awaitable<std::optional<T>> wait(std::chrono::steady_clock::duration timeout) {
        if (!done_) {
            timer_.expires_after(timeout);
            co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        }
        done_ = true;
        co_return std::move(value_);
    }

    bool done() const { return done_; }

private:
    boost::asio::steady_timer timer_;
    std::optional<T> value_;
    bool done_ = false;
};

}  // namespace nexus::net

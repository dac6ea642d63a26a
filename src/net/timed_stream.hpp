// SPDX-License-Identifier: AGPL-3.0-or-later
// TimedStream: a TCP socket with the timeout rules of Beast's tcp_stream, for the visitor's
// connection on the relay and the local app's on the agent.
//
// The rules are Beast's: expires_after() sets a deadline for every read and write started
// until it is changed; an operation still pending at its deadline fails with
// beast::error::timeout and the socket is closed. The cost is not: tcp_stream schedules a timer
// when each operation starts and cancels it when it ends, and each cancel is one more
// completion through the event loop, four per small request on each end. Here an operation
// only records its deadline; one timer per connection wakes at the earliest recorded deadline,
// and if the operation has ended by then, re-arms for whatever is pending at that moment.
#pragma once

#include "common/error.hpp"

#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <utility>

namespace nexus::net {

namespace detail {

/// What the stream and its watchdog timer share: the timer's handler may run after the stream
/// is gone, and the handlers of pending operations after that too.
struct TimedState : std::enable_shared_from_this<TimedState> {
    using Clock = std::chrono::steady_clock;
    static constexpr Clock::time_point kNever = Clock::time_point::max();

    explicit TimedState(boost::asio::ip::tcp::socket s)
        : socket(std::move(s)), timer(socket.get_executor()) {}

    /// Records that an operation runs until `deadline`, waking the timer earlier if needed.
    void watch(Clock::time_point& slot, Clock::time_point deadline);
    /// (Re)starts the timer's wait for `due`.
    void arm(Clock::time_point due);
    void onTimer(unsigned wait);

    boost::asio::ip::tcp::socket socket;
    boost::asio::steady_timer timer;
    Clock::time_point readDeadline = kNever;   ///< of the pending read, if it has one
    Clock::time_point writeDeadline = kNever;  ///< of the pending write, if it has one
    Clock::time_point armedFor = kNever;       ///< when the timer wakes, if waiting
    unsigned generation = 0;  ///< of the timer's current wait; older handlers step aside
    bool waiting = false;
    bool expired = false;
    bool closed = false;
};

/// Completes an operation: its deadline no longer counts, and an operation the watchdog cut
/// short reports a timeout, as with Beast.
template <typename Handler>
struct TimedHandler {
    Handler handler;
    std::shared_ptr<TimedState> state;
    TimedState::Clock::time_point TimedState::*slot;

    void operator()(ErrorCode ec, std::size_t n) {
        (*state).*slot = TimedState::kNever;
        if (ec && state->expired) {
            ec = boost::beast::error::timeout;
        }
        std::move(handler)(ec, n);
    }
};

}  // namespace detail

class TimedStream {
public:
    // NOLINTBEGIN(readability-identifier-naming): Asio's AsyncStream names, tcp_stream's expires_*.
    using executor_type = boost::asio::any_io_executor;
    using Clock = std::chrono::steady_clock;

    explicit TimedStream(boost::asio::ip::tcp::socket socket);
    ~TimedStream();
    TimedStream(const TimedStream&) = delete;
    TimedStream& operator=(const TimedStream&) = delete;

    executor_type get_executor() { return state_->socket.get_executor(); }
    boost::asio::ip::tcp::socket& socket() { return state_->socket; }

    /// Reads and writes started from now on must end within `timeout` of now.
    void expires_after(Clock::duration timeout) { expiry_ = Clock::now() + timeout; }
    /// Reads and writes started from now on may take as long as they take.
    void expires_never() { expiry_ = detail::TimedState::kNever; }
    /// Whether the watchdog closed the socket because an operation missed its deadline.
    bool timedOut() const { return state_->expired; }
    void close();
    /// Closes with a reset (RST) instead of a FIN: the peer must not take what it received
    /// for a complete message delimited by the close.
    void abort();

    template <typename Buffers, typename Token>
    auto async_read_some(const Buffers& buffers, Token&& token) {
        return start(&detail::TimedState::readDeadline, std::forward<Token>(token),
                     [buffers](auto& socket, auto&& handler) {
                         socket.async_read_some(buffers, std::forward<decltype(handler)>(handler));
                     });
    }

    template <typename Buffers, typename Token>
    auto async_write_some(const Buffers& buffers, Token&& token) {
        return start(&detail::TimedState::writeDeadline, std::forward<Token>(token),
                     [buffers](auto& socket, auto&& handler) {
                         socket.async_write_some(buffers, std::forward<decltype(handler)>(handler));
                     });
    }
    // NOLINTEND(readability-identifier-naming)

private:
    template <typename Token, typename Operation>
    auto start(Clock::time_point detail::TimedState::*slot, Token&& token, Operation operation) {
        return boost::asio::async_initiate<Token, void(ErrorCode, std::size_t)>(
            [this, slot, operation](auto handler) {
                if (expiry_ != detail::TimedState::kNever) {
                    state_->watch((*state_).*slot, expiry_);
                }
                using Handler = detail::TimedHandler<std::decay_t<decltype(handler)>>;
                operation(state_->socket, Handler{std::move(handler), state_, slot});
            },
            token);
    }

    std::shared_ptr<detail::TimedState> state_;
    Clock::time_point expiry_ = detail::TimedState::kNever;
};

}  // namespace nexus::net

// The wrapped handler keeps its executor, allocator and cancellation slot.
template <template <typename, typename> class Associator, typename Handler,
          typename DefaultCandidate>
struct boost::asio::associator<Associator, nexus::net::detail::TimedHandler<Handler>,
                               DefaultCandidate> : Associator<Handler, DefaultCandidate> {
    static typename Associator<Handler, DefaultCandidate>::type get(
        const nexus::net::detail::TimedHandler<Handler>& h) noexcept {
        return Associator<Handler, DefaultCandidate>::get(h.handler);
    }
    static auto get(const nexus::net::detail::TimedHandler<Handler>& h,
                    const DefaultCandidate& c) noexcept
        -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler, c)) {
        return Associator<Handler, DefaultCandidate>::get(h.handler, c);
    }
};

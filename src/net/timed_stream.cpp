// SPDX-License-Identifier: AGPL-3.0-or-later
// TimedStream's watchdog: one timer per connection, moved only when a deadline comes earlier.
#include "net/timed_stream.hpp"

#include <algorithm>

namespace nexus::net {

namespace detail {

void TimedState::watch(Clock::time_point& slot, Clock::time_point deadline) {
    slot = deadline;
    if (closed) {
        return;
    }
    // A wait already due at or before this deadline wakes in time and re-arms from there:
    // the common case, an operation after the first, costs nothing more than the store above.
    if (!waiting || deadline < armedFor) {
        arm(deadline);
    }
}

void TimedState::arm(Clock::time_point due) {
    waiting = true;
    armedFor = due;
    const unsigned wait = ++generation;
    // expires_at() cancels a wait in progress; its handler sees an old generation and steps
    // aside.
    timer.expires_at(due);
    timer.async_wait([self = shared_from_this(), wait](const ErrorCode&) { self->onTimer(wait); });
}

void TimedState::onTimer(unsigned wait) {
    if (wait != generation) {
        return;
    }
    waiting = false;
    armedFor = kNever;
    const auto due = std::min(readDeadline, writeDeadline);
    if (closed || due == kNever) {
        return;  // nothing pending has a deadline; the next operation that has one arms again
    }
    if (Clock::now() < due) {
        arm(due);  // the operations that set the earlier deadline have ended
        return;
    }
    expired = true;
    closed = true;
    ErrorCode ignored;
    socket.close(ignored);  // pending operations end with operation_aborted, reported as timeout
}

}  // namespace detail

TimedStream::TimedStream(boost::asio::ip::tcp::socket socket)
    : state_(std::make_shared<detail::TimedState>(std::move(socket))) {}

TimedStream::~TimedStream() {
    close();
}

void TimedStream::abort() {
    ErrorCode ignored;
    // A zero linger time makes close() discard what is unsent and send RST.
    state_->socket.set_option(boost::asio::socket_base::linger(true, 0), ignored);
    close();
}

void TimedStream::close() {
    state_->closed = true;
    ErrorCode ignored;
    state_->socket.close(ignored);
    state_->timer.cancel();  // releases the shared state now, not at the next deadline
}

}  // namespace nexus::net

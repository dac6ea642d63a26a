// SPDX-License-Identifier: AGPL-3.0-or-later
// The byte pipe of an upgraded connection, one implementation for the relay and the agent.
#include "net/v2/byte_pipe.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <memory>
#include <optional>

namespace nexus::net {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using ResetCode = protocol::v2::ResetCode;

namespace {

/// The idle clock of a pipe, shared by its two halves. The half that waits on the stream asks
/// remaining() for its deadline; the other half, whose socket reads have no deadline, calls
/// moved() for every byte it forwards.
class PipeActivity {
public:
    using Clock = std::chrono::steady_clock;

    explicit PipeActivity(Clock::duration idle) : idle_(idle), last_(Clock::now()) {}

    void moved() { last_ = Clock::now(); }

    /// Time left before the pipe counts as idle; zero once it does.
    Clock::duration remaining() const {
        const auto left = last_ + idle_ - Clock::now();
        return left > Clock::duration::zero() ? left : Clock::duration::zero();
    }

    bool idle() const { return remaining() == Clock::duration::zero(); }

private:
    Clock::duration idle_;
    Clock::time_point last_;
};

/// The next chunk of the peer's direction, waiting for as long as either direction keeps the
/// pipe in use; nullopt once the peer ended or reset its direction (a closed tunnel resets
/// every stream) or the whole pipe went idle. A chunk counts as movement.
asio::awaitable<std::optional<std::string>> readWhileInUse(V2Stream& stream,
                                                           PipeActivity& activity) {
    for (;;) {
        auto chunk = co_await stream.read(activity.remaining());
        if (chunk) {
            activity.moved();
            co_return chunk;
        }
        if (stream.peerEnded() || stream.wasReset() || activity.idle()) {
            co_return std::nullopt;
        }
        // Silent peer, but the other direction moved meanwhile: the pipe is in use.
    }
}

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// Small: an open WebSocket keeps it for its whole life, and there may be thousands.
constexpr std::size_t kChunkSize = 16 * 1024;

/// The two halves and what they share. Both run on one strand (the connection's coroutine),
/// so the shared fields need no lock.
struct Pipe {
    TimedStream& socket;
    V2Stream& stream;
    PipeActivity activity;
    PipeActivity::Clock::duration idle;
    ResetCode onSocketError;
    PipeOutcome outcome;

    /// Stops both directions after a failure: the stream is reset (once) and the socket shut,
    /// which also ends the other half's read, whose socket reads have no deadline of their own.
    void breakOff(ResetCode code) {
        if (!stream.wasReset() && !(stream.finished() && stream.peerEnded())) {
            stream.reset(code);
        }
        ErrorCode ignored;
        socket.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        socket.socket().cancel(ignored);
    }

    void socketFailed(const ErrorCode& ec) {
        if (!outcome.socketError) {
            outcome.socketError = ec;
        }
        breakOff(onSocketError);
    }

    // Socket to stream. Its reads have no deadline: the other half ends the pipe once neither
    // direction has moved for the idle timeout.
    asio::awaitable<bool> fromSocket(std::string early) {
        if (!early.empty()) {
            outcome.fromSocket += early.size();
            if (!co_await stream.write(early, idle)) {
                breakOff(ResetCode::Timeout);
                co_return false;
            }
        }
        const auto chunk = std::make_unique_for_overwrite<char[]>(kChunkSize);
        for (;;) {
            auto [ec, n] = co_await socket.socket().async_read_some(
                asio::buffer(chunk.get(), kChunkSize), kTuple);
            if (n > 0) {
                activity.moved();
                outcome.fromSocket += n;
                if (!co_await stream.write(std::string_view(chunk.get(), n), idle)) {
                    breakOff(ResetCode::Timeout);  // the peer stopped reading, or reset
                    co_return false;
                }
            }
            if (ec == asio::error::eof) {
                stream.finish();
                co_return true;
            }
            if (ec) {
                if (!stream.wasReset()) {  // not the shutdown of the other half's breakOff()
                    socketFailed(ec);
                }
                co_return false;
            }
        }
    }

    // Stream to socket; this half keeps the pipe's idle clock.
    asio::awaitable<bool> toSocket() {
        for (;;) {
            auto chunk = co_await readWhileInUse(stream, activity);
            if (!chunk) {
                if (stream.peerEnded() && !stream.wasReset()) {
                    // The peer's half-close: this side may still finish its half of the close.
                    ErrorCode ignored;
                    socket.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
                    co_return true;
                }
                // Idle both ways, or the peer's reset (a closed tunnel resets every stream).
                outcome.idle = !stream.wasReset();
                breakOff(ResetCode::Timeout);
                co_return false;
            }
            // A socket that reads nothing for the whole timeout ends the pipe: its unread bytes
            // would otherwise hold the stream, and the peer's side of it, for ever.
            socket.expires_after(idle);
            auto [ec, n] = co_await asio::async_write(socket, asio::buffer(*chunk), kTuple);
            if (ec) {
                socketFailed(ec);
                co_return false;
            }
            outcome.toSocket += n;
        }
    }
};

}  // namespace

asio::awaitable<PipeOutcome> pipeUpgraded(TimedStream& socket, V2Stream& stream, std::string early,
                                          std::chrono::steady_clock::duration idle,
                                          ResetCode onSocketError) {
    Pipe pipe{socket, stream, PipeActivity(idle), idle, onSocketError, {}};
    socket.expires_never();
    auto [up, down] = co_await (pipe.fromSocket(std::move(early)) && pipe.toSocket());
    pipe.outcome.clean = up && down;
    co_return pipe.outcome;
}

}  // namespace nexus::net

// SPDX-License-Identifier: AGPL-3.0-or-later
// V2Mux's receive side of the connection window: what stream buffers hold, when it is
// credited back to the peer, and the watch that resets stalled readers over the budget.
#include "net/v2/mux.hpp"

#include "net/spawn.hpp"

#include <boost/asio/co_spawn.hpp>

#include <algorithm>
#include <vector>

namespace nexus::net {

namespace {
using Clock = std::chrono::steady_clock;
// A quarter of the connection window: small responses do not each cost the peer a wakeup.
constexpr std::int64_t kConnectionGrantThreshold = v2::kInitialConnectionWindow / 4;
// Over the buffer budget, stalled readers are looked for this often (V2Mux::pressureLoop).
constexpr auto kPressureTick = std::chrono::seconds(1);
}  // namespace

// Connection window accounting. Every DATA byte received into a stream's buffer is credited
// back to the sender exactly once: at once while the buffers of all streams together stay
// within kBufferBudget, else when a reader is done with it. A stream whose reader stalls
// therefore holds its own stream window and nothing of the connection's: stalled downloads
// cannot freeze the other streams of the tunnel until they hold the whole budget. (The invariant
// that makes the arithmetic exact: owed_ <= max(0, buffered_ - kBufferBudget).)
void V2Mux::buffered(std::int64_t bytes, std::string& frames) {
    const std::int64_t within = std::clamp(kBufferBudget - buffered_, std::int64_t{0}, bytes);
    buffered_ += bytes;
    owed_ += bytes - within;
    credit(within, frames);
    if (owed_ > 0 && !pressureWatched_) {
        watchPressure();
    }
}

void V2Mux::consumed(std::int64_t bytes, std::string& frames) {
    buffered_ -= bytes;
    const std::int64_t repaid = std::min(owed_, bytes);
    owed_ -= repaid;
    credit(repaid, frames);
}

void V2Mux::credit(std::int64_t bytes, std::string& frames) {
    connectionPendingGrant_ += bytes;
    // Grants go out in batches, but never leave the sender short of window while we hold some.
    const bool senderShort = connectionReceiveWindow_ < kConnectionGrantThreshold;
    if (connectionPendingGrant_ > 0 &&
        (connectionPendingGrant_ >= kConnectionGrantThreshold || senderShort)) {
        connectionReceiveWindow_ += connectionPendingGrant_;
        v2::appendWindowUpdate(frames, 0, static_cast<std::uint32_t>(connectionPendingGrant_));
        connectionPendingGrant_ = 0;
    }
}

void V2Mux::watchPressure() {
    pressureWatched_ = true;
    asio::co_spawn(
        executor_, [self = shared_from_this()] { return self->pressureLoop(); },
        reportFailures("the v2 buffer pressure loop"));
}

asio::awaitable<void> V2Mux::pressureLoop() {
    while (owed_ > 0 && connection_->isOpen()) {
        pressureTimer_.expires_after(kPressureTick);
        co_await pressureTimer_.async_wait(asio::as_tuple(asio::use_awaitable));
        resetStalledReaders(Clock::now() - kStallLimit);
    }
    pressureWatched_ = false;
}

// Over the budget, a stream whose reader has taken nothing for kStallLimit is reset (TIMEOUT),
// stalest first, until the connection window is whole again: fast-then-stalled readers (a
// visitor who opens a hundred downloads and reads none) would otherwise hold the connection
// window of every other stream of the tunnel until their idle timeout.
void V2Mux::resetStalledReaders(Clock::time_point stalledBefore) {
    std::vector<std::shared_ptr<V2Stream>> stalled;
    for (const auto& [id, stream] : streams_) {
        if (!stream->inbound_.empty() && stream->lastProgress_ < stalledBefore) {
            stalled.push_back(stream);
        }
    }
    std::sort(stalled.begin(), stalled.end(),
              [](const auto& a, const auto& b) { return a->lastProgress_ < b->lastProgress_; });
    std::size_t streams = 0;
    const std::int64_t before = buffered_;
    for (const auto& stream : stalled) {
        if (owed_ <= 0) {
            break;
        }
        stream->reset(v2::ResetCode::Timeout);  // its unread bytes repay the connection window
        ++streams;
    }
    if (streams > 0 && onStalledReset_) {
        onStalledReset_(streams, before - buffered_);
    }
}

}  // namespace nexus::net

// SPDX-License-Identifier: AGPL-3.0-or-later
// PipeActivity: when an upgraded (WebSocket) pipe last carried a byte, in either direction.
#pragma once

#include "net/v2_stream.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace nexus::net {

/// The idle clock of an upgraded pipe, shared by its two halves. A pipe is idle only when
/// neither direction has moved for the whole timeout: a feed that only the app sends, or only
/// the visitor, is in use all the same, and cutting it would break the promise that a moving
/// stream is never cut. The half that waits on the tunnel asks remaining() for its deadline;
/// the other half, whose own reads have no deadline, calls moved() for every byte it forwards.
/// readWhileInUse() is that waiting half's read.
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

/// The next chunk of the peer's direction of an upgraded stream, waiting for as long as either
/// direction keeps the pipe in use; nullopt once the peer ended or reset its direction (a
/// closed tunnel resets every stream) or the whole pipe went idle. A chunk counts as movement.
boost::asio::awaitable<std::optional<std::string>> readWhileInUse(V2Stream& stream,
                                                                  PipeActivity& activity);

}  // namespace nexus::net

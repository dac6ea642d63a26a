// SPDX-License-Identifier: AGPL-3.0-or-later
// Test helper: drives an io_context until one coroutine finishes, while everything else
// spawned on it keeps running; rethrows what the coroutine threw.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>

namespace nexus::testkit {

/// True if `task` finished before `timeout`.
inline bool runUntilDone(boost::asio::io_context& io, boost::asio::awaitable<void> task,
                         std::chrono::steady_clock::duration timeout) {
    bool done = false;
    boost::asio::co_spawn(io, std::move(task), [&done](std::exception_ptr e) {
        done = true;
        if (e) {
            std::rethrow_exception(e);
        }
    });
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done && io.run_one_until(deadline) > 0) {
    }
    return done;
}

}  // namespace nexus::testkit

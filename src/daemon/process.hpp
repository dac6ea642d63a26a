// SPDX-License-Identifier: AGPL-3.0-or-later
// What both daemons do to their process before the loop runs, and how a signal stops them.
#pragma once

#include "common/error.hpp"
#include "common/log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string_view>

namespace nexus {

/// The daemon's logger (the journal under systemd, else stderr batched per turn of `io`'s
/// loop), and the process prepared as prepareProcess() does, with it.
std::unique_ptr<Logger> startDaemonProcess(boost::asio::io_context& io, LogLevel level);

/// Ignores SIGPIPE (a peer's close is an error code, not a death), logs the exceptions that
/// end detached coroutines, raises the open file limit to the hard limit, sets up the
/// allocator. `log` must outlive the process's coroutines.
void prepareProcess(Logger& log);

/// The agent's allocator setting, after prepareProcess(): memory freed after a burst goes
/// back to the kernel at once instead of being kept for the next one. The relay keeps the
/// default, which spares it the system calls; the agent, on a small board, keeps its
/// footprint.
void returnFreedMemoryPromptly(Logger& log);

/// The reload's lines both daemons write: the new configuration does not parse (`problem`),
/// or options that are read at start only changed (`fixed`, as command-line names; nothing is
/// written when it is empty). `daemon`: "agent" or "relay".
void logReloadFailure(Logger& log, std::string_view problem);
void logStartOnlyChanges(Logger& log, std::span<const std::string_view> fixed,
                         std::string_view daemon);

/// Calls `stop` at the first SIGINT or SIGTERM caught by `signals`, after saying so.
void stopOnSignals(boost::asio::signal_set& signals, Logger& log, std::function<void()> stop);

/// Calls `drain` at the first SIGINT or SIGTERM caught by `signals`, and `now` with the
/// signal's number at a second one (a drain the operator will not wait for).
void drainOnSignals(boost::asio::signal_set& signals, Logger& log, std::function<void()> drain,
                    std::function<void(int)> now);

}  // namespace nexus

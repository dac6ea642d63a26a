// SPDX-License-Identifier: AGPL-3.0-or-later
// What the daemons tell systemd and where they log, in one place: the journal when stderr is
// connected to it (under a unit), stderr otherwise; READY/STATUS/STOPPING and the watchdog.
#pragma once

#include "common/log.hpp"
#include "sd/listen_fds.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <span>
#include <string_view>

namespace nexus {

namespace client {
class AgentStatusBoard;
}

/// The journal sink under systemd (JOURNAL_STREAM names our stderr), else stderr with lines
/// batched per turn of `executor`'s loop.
std::unique_ptr<Logger> makeDaemonLogger(LogLevel level, std::string_view identifier,
                                         const boost::asio::any_io_executor& executor);

/// Keeps systemd's STATUS= line in step with the agent's state (`systemctl status` shows it).
void reportAgentToSystemd(client::AgentStatusBoard& board);

/// The listeners systemd passed, checked against the names the configuration expects; on a
/// mismatch the error is logged in one line and `ok` is false.
sd::PassedListeners takeListenersFromSystemd(const boost::asio::any_io_executor& executor,
                                             std::span<const std::string_view> expected,
                                             Logger& log, bool& ok);

}  // namespace nexus

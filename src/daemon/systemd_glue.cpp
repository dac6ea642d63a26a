// SPDX-License-Identifier: AGPL-3.0-or-later
// The daemon layer's systemd glue: log sink choice, STATUS= from the state model, listeners.
#include "daemon/systemd_glue.hpp"

#include "client/agent_status.hpp"
#include "daemon/stderr_logger.hpp"
#include "sd/journal_logger.hpp"
#include "sd/notifier.hpp"

#include <chrono>

namespace nexus {

std::unique_ptr<Logger> makeDaemonLogger(LogLevel level, std::string_view identifier,
                                         const boost::asio::any_io_executor& executor) {
    if (sd::stderrIsJournal()) {
        return std::make_unique<sd::JournalLogger>(level, std::string(identifier));
    }
    auto log = std::make_unique<StderrLogger>(level);
    log->batchOn(executor);
    return log;
}

void reportAgentToSystemd(client::AgentStatusBoard& board) {
    if (!sd::Notifier::enabled()) {
        return;
    }
    // State changes only: counters change per request, and systemd needs no more than the
    // line `systemctl status` shows.
    board.subscribe([](const client::AgentStatus& status, client::AgentChange change) {
        if (change == client::AgentChange::State) {
            sd::Notifier::status(client::summaryLine(status, std::chrono::system_clock::now()));
        }
    });
}

sd::PassedListeners takeListenersFromSystemd(const boost::asio::any_io_executor& executor,
                                             std::span<const std::string_view> expected,
                                             Logger& log, bool& ok) {
    auto passed = sd::takePassedListeners(executor, expected);
    ok = passed.error.empty();
    if (!ok) {
        log.error(passed.error);
    }
    return passed;
}

}  // namespace nexus

// SPDX-License-Identifier: AGPL-3.0-or-later
// The relay's line in `systemctl status` (sd_notify STATUS=): "12 tunnels, 340 req/min",
// refreshed every few seconds from the state model while systemd listens.
#pragma once

#include "common/request_rate.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace nexus {

class RelayDaemon;

class RelayStatusLine {
public:
    RelayStatusLine(const boost::asio::any_io_executor& executor, const RelayDaemon& relay)
        : timer_(executor), relay_(relay) {}

    /// The line now; starts refreshing it when systemd listens (NOTIFY_SOCKET).
    std::string start();
    void stop() { timer_.cancel(); }

    /// The line now (taking a sample of the request total).
    std::string current();

    /// "1 tunnel, 0 req/min": requests over the last minute, or over the time since the first
    /// sample when the daemon is younger than that.
    static std::string format(std::size_t tunnels, std::uint64_t perMinute);

private:
    void schedule();

    boost::asio::steady_timer timer_;
    const RelayDaemon& relay_;
    RequestRate rate_;
};

}  // namespace nexus

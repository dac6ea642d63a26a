// SPDX-License-Identifier: AGPL-3.0-or-later
// The relay's daemon layer around RelayServer: it binds the listeners (the seam where systemd
// will hand them over instead), turns the relay's events into log lines and metrics, and
// serves the status pages on their own loopback listener.
#pragma once

#include "net/status_listener.hpp"
#include "relay_log.hpp"
#include "relay_metrics.hpp"
#include "relay_status.hpp"
#include "server/relay_server.hpp"

#include <boost/asio/io_context.hpp>

#include <optional>
#include <string>

namespace nexus {

class RelayDaemon {
public:
    RelayDaemon(boost::asio::io_context& io, const server::ServerConfig& config, Logger& log,
                server::DirectoryWorker& directory);

    /// Binds every listener, each on its own so a busy port is named with its option, then
    /// starts the relay and the status pages. A failure as one line, else nothing.
    std::optional<std::string> start();

    void stop();
    void reloadTls() { relay_.reloadTls(); }

    server::RelayServer& relay() { return relay_; }

private:
    boost::asio::any_io_executor executor_;
    const server::ServerConfig config_;
    Logger& log_;
    RelayLog lines_;
    RelayMetrics metrics_;
    server::RelayEvents events_;
    server::RelayServer relay_;
    RelayStatus status_;
    net::StatusListener statusListener_;
    std::optional<boost::asio::ip::tcp::acceptor> statusAcceptor_;
};

}  // namespace nexus

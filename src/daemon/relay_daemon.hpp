// SPDX-License-Identifier: AGPL-3.0-or-later
// The relay's daemon layer around RelayServer: it takes the listeners systemd passed by name,
// or binds them, turns the relay's events into log lines and metrics, and
// serves the status pages on their own loopback listener.
#pragma once

#include "daemon/relay_log.hpp"
#include "daemon/relay_metrics.hpp"
#include "daemon/relay_status.hpp"
#include "net/status_listener.hpp"
#include "sd/listen_fds.hpp"
#include "server/relay_server.hpp"

#include <boost/asio/io_context.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nexus {

class RelayDaemon {
public:
    RelayDaemon(boost::asio::io_context& io, const server::ServerConfig& config, Logger& log,
                server::DirectoryWorker& directory);

    /// The names of the sockets systemd must pass for `config` (FileDescriptorName= of the
    /// socket units): control, http, and websocket and status when they are on.
    static std::vector<std::string_view> listenerNames(const server::ServerConfig& config);

    /// Takes each listener from `passed` by name, or binds it (each on its own, so a busy port
    /// is named with its option), then starts the relay and the status pages. A failure as
    /// one line, else nothing.
    std::optional<std::string> start(sd::PassedListeners& passed);

    void stop();
    /// Drains the relay (RelayServer::drain) with the configured grace, then stop()s; says
    /// in the log how it went.
    boost::asio::awaitable<void> drain();
    /// Adds an observer of the relay's events (the D-Bus object), before start().
    void addObserver(server::RelayObserver& observer) { events_.add(observer); }
    void reloadTls() { relay_.reloadTls(); }

    server::RelayServer& relay() { return relay_; }
    const RelayMetrics& metrics() const { return metrics_; }
    std::size_t tunnelCount() const { return relay_.tunnelCount(); }

private:
    /// /caddy/ask on the status listener: Caddy's on-demand TLS question.
    boost::asio::awaitable<net::StatusReply> askReply(std::string target);

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

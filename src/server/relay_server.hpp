// SPDX-License-Identifier: AGPL-3.0-or-later
// The relay server assembled: control listener, HTTP front, revocation watcher; its tunnels
// as data, and what an operator may do to them.
#pragma once

#include "server/control_listener.hpp"
#include "server/http_front.hpp"
#include "server/server_context.hpp"
#include "server/tls_reloader.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <optional>
#include <vector>

namespace nexus::server {

/// The listening sockets the relay serves on, bound (or taken from systemd) by its owner:
/// RelayServer never binds anything itself.
struct RelayListeners {
    boost::asio::ip::tcp::acceptor control;
    boost::asio::ip::tcp::acceptor http;
    std::optional<boost::asio::ip::tcp::acceptor> webSocket;  ///< the door behind the TLS proxy
};

/// One live tunnel, as the status page and the control plane see it.
struct TunnelSnapshot {
    TunnelInfo info;
    TunnelCounters counters;
};

class RelayServer {
public:
    RelayServer(boost::asio::any_io_executor executor, ServerConfig config, Logger& log,
                DirectoryWorker& directory, RelayObserver& events);

    /// Loads the certificate and starts serving on `listeners`; on failure, what failed and why.
    std::optional<SetupFailure> start(RelayListeners listeners);

    /// Loads the TLS certificate and key again (SIGHUP); live tunnels are not touched.
    void reloadTls() {
        if (!context_.config.tlsCertificate.empty()) {
            tls_.reload("reload requested");
        }
    }

    /// Takes the live part of `next` (applyLiveSettings) and returns the start-only options
    /// that differ (startOnlyChanges), which keep their running values.
    std::vector<std::string_view> reconfigure(const ServerConfig& next);

    const ServerConfig& config() const { return context_.config; }

    /// Stops accepting and closes every tunnel.
    void stop();

    /// SIGTERM: stops accepting (systemd keeps the listening sockets, so new visitors and
    /// agents wait in the backlog for the next process), tells the agents to reconnect (v2:
    /// GOAWAY), lets the requests in flight finish within `grace`, then stop()s. Returns
    /// the number of requests cut at the end of the grace.
    boost::asio::awaitable<std::size_t> drain(std::chrono::steady_clock::duration grace);

    /// The retry-after of the drain's GOAWAY: about how long a restart under systemd takes.
    static constexpr std::chrono::milliseconds kRestartRetryAfter{200};
    /// How long a connection accepted just before the drain has to send its first request.
    static constexpr std::chrono::milliseconds kFirstRequestGrace{1000};

    /// The live tunnels, ordered by slug.
    std::vector<TunnelSnapshot> tunnels() const;
    std::size_t tunnelCount() const { return context_.registry.size(); }

    /// Drops the slug's live tunnel (its agent reconnects as after any cut): event
    /// Disconnected. Errc::NoSuchTunnel when none is connected.
    Result<void> disconnect(std::string_view slug);

    /// Revokes the slug in the directory, then drops its live tunnel if there is one: event
    /// Revoked. The directory's error (SlugNotFound, DirectoryUnavailable) when it refuses.
    boost::asio::awaitable<Result<void>> revoke(std::string slug);

    const TunnelRegistry& registry() const { return context_.registry; }

    /// Caddy's on-demand TLS question for `target` ("/caddy/ask?domain=NAME"): an HTTP status
    /// (certificate_ask.hpp).
    boost::asio::awaitable<unsigned> askCertificate(std::string target);

private:
    boost::asio::awaitable<void> watchRevocations();
    void closeListeners();

    ServerContext context_;
    ControlListener control_;
    HttpFront front_;
    TlsReloader tls_;
    std::optional<RelayListeners> listeners_;
    boost::asio::steady_timer revocationTimer_;
    bool stopped_ = false;
};

}  // namespace nexus::server

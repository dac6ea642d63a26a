// SPDX-License-Identifier: AGPL-3.0-or-later
// The relay server assembled: control listener, HTTP front, revocation watcher.
#pragma once

#include "net/listen.hpp"
#include "server/control_listener.hpp"
#include "server/http_front.hpp"
#include "server/server_context.hpp"
#include "server/tls_reloader.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <optional>

namespace nexus::server {

class RelayServer {
public:
    RelayServer(boost::asio::any_io_executor executor, ServerConfig config, Logger& log,
                DirectoryWorker& directory);

    /// Loads the certificate, binds the configured addresses and starts serving; on failure,
    /// which of them failed and why.
    std::optional<SetupFailure> start();

    /// Loads the TLS certificate and key again (SIGHUP); live tunnels are not touched.
    void reloadTls() {
        if (!context_.config.tlsCertificate.empty()) {
            tls_.reload("reload requested");
        }
    }

    /// Stops accepting and closes every tunnel.
    void stop();

    const TunnelRegistry& registry() const { return context_.registry; }

private:
    boost::asio::awaitable<void> watchRevocations();

    ServerContext context_;
    ControlListener control_;
    HttpFront front_;
    TlsReloader tls_;
    std::optional<boost::asio::ip::tcp::acceptor> controlAcceptor_;
    std::optional<boost::asio::ip::tcp::acceptor> httpAcceptor_;
    std::optional<boost::asio::ip::tcp::acceptor> webSocketAcceptor_;
    boost::asio::steady_timer revocationTimer_;
    bool stopped_ = false;
};

using net::bindAcceptor;  // in net/listen.hpp: the agent's status listener binds too

}  // namespace nexus::server

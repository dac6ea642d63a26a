// SPDX-License-Identifier: AGPL-3.0-or-later
// RelayServer: binding, start-up, and the periodic revocation check.
#include "server/relay_server.hpp"

#include "net/transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace nexus::server {

namespace asio = boost::asio;
using asio::ip::tcp;

RelayServer::RelayServer(asio::any_io_executor executor, ServerConfig config, Logger& log,
                         DirectoryWorker& directory)
    : context_{executor, std::move(config), log, directory, {}, {}, 1},
      control_(context_),
      front_(context_),
      tls_(context_),
      revocationTimer_(executor) {}

namespace {
// Each listener on its own, so a busy port is named as the one that is busy.
std::optional<SetupFailure> bindListener(asio::any_io_executor executor, const std::string& host,
                                         std::uint16_t port, std::string_view role,
                                         std::optional<tcp::acceptor>& into) {
    auto acceptor = bindAcceptor(std::move(executor), host, port);
    if (!acceptor) {
        return SetupFailure{fmt::format("listen on {}:{} for {}", host, port, role),
                            acceptor.error()};
    }
    into.emplace(std::move(*acceptor));
    return std::nullopt;
}
}  // namespace

std::optional<SetupFailure> RelayServer::start() {
    const auto& config = context_.config;
    if (!config.tlsCertificate.empty()) {
        if (auto failed = tls_.load()) {
            return failed;
        }
    }
    if (auto failed = bindListener(context_.executor, config.tcpBind, config.tcpPort,
                                   "the control port (--tcp-port)", controlAcceptor_)) {
        return failed;
    }
    if (auto failed = bindListener(context_.executor, config.httpBind, config.httpPort,
                                   "the HTTP front (--http-port)", httpAcceptor_)) {
        return failed;
    }
    if (config.wsPort != 0) {
        if (auto failed = bindListener(context_.executor, config.wsBind, config.wsPort,
                                       "the WebSocket door (--ws-port)", webSocketAcceptor_)) {
            return failed;
        }
    }
    context_.log.info(fmt::format("Control listener on {} ({})",
                                  net::formatEndpoint(controlAcceptor_->local_endpoint()),
                                  context_.tls ? "plaintext and TLS; protocol v1 or v2 in either"
                                               : "plaintext only: no certificate, TLS refused; "
                                                 "protocol v1 or v2"));
    context_.log.info(
        fmt::format("HTTP front on {}", net::formatEndpoint(httpAcceptor_->local_endpoint())));
    asio::co_spawn(context_.executor, control_.run(*controlAcceptor_), asio::detached);
    asio::co_spawn(context_.executor, front_.run(*httpAcceptor_), asio::detached);
    if (webSocketAcceptor_) {
        context_.log.info(fmt::format("WebSocket door on {} (behind the TLS proxy)",
                                      net::formatEndpoint(webSocketAcceptor_->local_endpoint())));
        asio::co_spawn(context_.executor, control_.run(*webSocketAcceptor_, true), asio::detached);
    }
    asio::co_spawn(context_.executor, watchRevocations(), asio::detached);
    if (context_.tls) {
        asio::co_spawn(context_.executor, tls_.watch(config.tlsReloadInterval), asio::detached);
    }
    return std::nullopt;
}

void RelayServer::stop() {
    stopped_ = true;
    ErrorCode ignored;
    if (controlAcceptor_) {
        controlAcceptor_->close(ignored);
    }
    if (httpAcceptor_) {
        httpAcceptor_->close(ignored);
    }
    if (webSocketAcceptor_) {
        webSocketAcceptor_->close(ignored);
    }
    revocationTimer_.cancel();
    tls_.stop();
    for (const auto& tunnel : context_.registry.all()) {
        tunnel->close(asio::error::operation_aborted);
    }
}

asio::awaitable<void> RelayServer::watchRevocations() {
    while (!stopped_) {
        revocationTimer_.expires_after(context_.config.revocationInterval);
        co_await revocationTimer_.async_wait(asio::as_tuple(asio::use_awaitable));
        const auto tunnels = context_.registry.all();
        if (stopped_ || tunnels.empty()) {
            continue;
        }
        std::vector<std::int64_t> ids;
        ids.reserve(tunnels.size());
        for (const auto& tunnel : tunnels) {
            ids.push_back(tunnel->info().instanceId);
        }
        auto check = [ids](directory::Directory& d) { return d.activeIds(ids); };
        auto active = co_await context_.directory.run(std::move(check), std::chrono::seconds(3));
        if (!active) {
            continue;  // a database outage never drops live tunnels
        }
        for (const auto& tunnel : tunnels) {
            if (std::find(active->begin(), active->end(), tunnel->info().instanceId) ==
                active->end()) {
                tunnel->close(makeError(Errc::Revoked));
            }
        }
    }
}

}  // namespace nexus::server

// SPDX-License-Identifier: AGPL-3.0-or-later
// RelayServer: start-up, snapshots, operations, and the periodic revocation check.
#include "server/relay_server.hpp"

#include "net/spawn.hpp"
#include "net/transport.hpp"
#include "server/certificate_ask.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace nexus::server {

namespace asio = boost::asio;
using asio::ip::tcp;

RelayServer::RelayServer(asio::any_io_executor executor, ServerConfig config, Logger& log,
                         DirectoryWorker& directory, RelayObserver& events)
    : context_{executor, std::move(config), log, directory, events, {}, {}, 1},
      control_(context_),
      front_(context_),
      tls_(context_),
      revocationTimer_(executor) {
    context_.registry.waits().limit(context_.config.maxAgentWaitsPerSlug,
                                    context_.config.maxAgentWaits);
}

std::optional<SetupFailure> RelayServer::start(RelayListeners listeners) {
    const auto& config = context_.config;
    if (!config.tlsCertificate.empty()) {
        if (auto failed = tls_.load()) {
            return failed;
        }
    }
    auto& bound = listeners_.emplace(std::move(listeners));
    context_.log.info(fmt::format("Control listener on {} ({})",
                                  net::formatEndpoint(bound.control.local_endpoint()),
                                  context_.tls ? "plaintext and TLS; protocol v1 or v2 in either"
                                               : "plaintext only: no certificate, TLS refused; "
                                                 "protocol v1 or v2"));
    context_.log.info(
        fmt::format("HTTP front on {}", net::formatEndpoint(bound.http.local_endpoint())));
    asio::co_spawn(context_.executor, control_.run(bound.control),
                   net::reportFailures("the control listener"));
    asio::co_spawn(context_.executor, front_.run(bound.http),
                   net::reportFailures("the HTTP front"));
    if (bound.webSocket) {
        context_.log.info(fmt::format("WebSocket door on {} (behind the TLS proxy)",
                                      net::formatEndpoint(bound.webSocket->local_endpoint())));
        asio::co_spawn(context_.executor, control_.run(*bound.webSocket, true),
                       net::reportFailures("the WebSocket door"));
    }
    asio::co_spawn(context_.executor, watchRevocations(),
                   net::reportFailures("the revocation watcher"));
    if (context_.tls) {
        asio::co_spawn(context_.executor, tls_.watch(config.tlsReloadInterval),
                       net::reportFailures("the certificate watcher"));
    }
    return std::nullopt;
}

std::vector<std::string_view> RelayServer::reconfigure(const ServerConfig& next) {
    auto fixed = startOnlyChanges(context_.config, next);
    applyLiveSettings(context_.config, next);
    context_.registry.waits().limit(context_.config.maxAgentWaitsPerSlug,
                                    context_.config.maxAgentWaits);
    return fixed;
}

void RelayServer::closeListeners() {
    ErrorCode ignored;
    if (listeners_) {
        listeners_->control.close(ignored);
        listeners_->http.close(ignored);
        if (listeners_->webSocket) {
            listeners_->webSocket->close(ignored);
        }
    }
}

void RelayServer::stop() {
    stopped_ = true;
    closeListeners();
    revocationTimer_.cancel();
    tls_.stop();
    for (const auto& tunnel : context_.registry.all()) {
        tunnel->close(asio::error::operation_aborted);
    }
}

asio::awaitable<std::size_t> RelayServer::drain(std::chrono::steady_clock::duration grace) {
    using Quiet = HttpFront::Quiet;
    const auto now = std::chrono::steady_clock::now();
    const auto deadline = now + grace;
    closeListeners();
    front_.drain();
    // A v2 agent told GOAWAY takes no new request: the first requests of the connections
    // accepted just before go first, through the tunnels as they are.
    co_await front_.quiet(Quiet::NoUnused, std::min(deadline, now + kFirstRequestGrace));
    front_.closeIdle();
    for (const auto& tunnel : context_.registry.all()) {
        tunnel->goAway(kRestartRetryAfter);
    }
    const std::size_t cut = co_await front_.quiet(Quiet::NoBusy, deadline);
    stop();
    co_return cut;
}

std::vector<TunnelSnapshot> RelayServer::tunnels() const {
    std::vector<TunnelSnapshot> out;
    out.reserve(context_.registry.size());
    for (const auto& tunnel : context_.registry.all()) {
        out.push_back({tunnel->info(), tunnel->counters()});
    }
    std::sort(out.begin(), out.end(), [](const TunnelSnapshot& a, const TunnelSnapshot& b) {
        return a.info.slug < b.info.slug;
    });
    return out;
}

Result<void> RelayServer::disconnect(std::string_view slug) {
    const auto tunnel = context_.registry.find(std::string(slug));
    if (!tunnel) {
        return makeError(Errc::NoSuchTunnel);
    }
    tunnel->close(makeError(Errc::Disconnected));
    return {};
}

asio::awaitable<Result<void>> RelayServer::revoke(std::string slug) {
    auto call = [slug](directory::Directory& d) { return d.revoke(slug); };
    auto revoked = co_await context_.directory.run(std::move(call), std::chrono::seconds(5));
    if (!revoked) {
        co_return revoked.error();
    }
    // Looked up after the directory answered: a session that registered meanwhile goes too.
    if (const auto tunnel = context_.registry.find(slug)) {
        tunnel->close(makeError(Errc::Revoked));
    }
    co_return Result<void>{};
}

asio::awaitable<unsigned> RelayServer::askCertificate(std::string target) {
    return server::askCertificate(context_, std::move(target));
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

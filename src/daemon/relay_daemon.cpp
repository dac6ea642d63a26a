// SPDX-License-Identifier: AGPL-3.0-or-later
// RelayDaemon: listeners (systemd's or bound here), observers, status pages.
#include "daemon/relay_daemon.hpp"

#include "net/listen.hpp"
#include "net/spawn.hpp"
#include "net/transport.hpp"

#include <boost/asio/co_spawn.hpp>

#include <fmt/format.h>

namespace nexus {

namespace asio = boost::asio;
using asio::ip::tcp;

RelayDaemon::RelayDaemon(asio::io_context& io, const server::ServerConfig& config, Logger& log,
                         server::DirectoryWorker& directory)
    : executor_(io.get_executor()),
      config_(config),
      log_(log),
      lines_(log),
      relay_(executor_, config, log, directory, events_),
      status_(relay_, metrics_, config.metricsPerSlug),
      statusListener_(executor_, status_.routes()) {
    statusListener_.addAsync("/caddy/ask",
                             [this](std::string target) -> asio::awaitable<net::StatusReply> {
                                 return askReply(std::move(target));
                             });
    events_.add(lines_);
    events_.add(metrics_);
}

namespace {
// Systemd's socket named `name` when it passed one, else a socket bound here: "Cannot listen on
// 127.0.0.1:7001 for the HTTP front (--http-port): Address already in use".
std::optional<std::string> takeOrBind(const asio::any_io_executor& executor,
                                      sd::PassedListeners& passed, std::string_view name,
                                      const std::string& host, std::uint16_t port,
                                      std::string_view role, std::optional<tcp::acceptor>& into) {
    if (auto acceptor = passed.take(name)) {
        into.emplace(std::move(*acceptor));
        return std::nullopt;
    }
    auto acceptor = net::bindAcceptor(executor, host, port);
    if (!acceptor) {
        return fmt::format("Cannot listen on {}:{} for {}: {}", host, port, role,
                           acceptor.error().message());
    }
    into.emplace(std::move(*acceptor));
    return std::nullopt;
}
}  // namespace

std::vector<std::string_view> RelayDaemon::listenerNames(const server::ServerConfig& config) {
    std::vector<std::string_view> names{"control", "http"};
    if (config.wsPort != 0) {
        names.emplace_back("websocket");
    }
    if (config.statusPort != 0) {
        names.emplace_back("status");
    }
    return names;
}

std::optional<std::string> RelayDaemon::start(sd::PassedListeners& passed) {
    std::optional<tcp::acceptor> control;
    std::optional<tcp::acceptor> http;
    std::optional<tcp::acceptor> webSocket;
    if (auto failed = takeOrBind(executor_, passed, "control", config_.tcpBind, config_.tcpPort,
                                 "the control port (--tcp-port)", control)) {
        return failed;
    }
    if (auto failed = takeOrBind(executor_, passed, "http", config_.httpBind, config_.httpPort,
                                 "the HTTP front (--http-port)", http)) {
        return failed;
    }
    if (config_.wsPort != 0) {
        if (auto failed = takeOrBind(executor_, passed, "websocket", config_.wsBind, config_.wsPort,
                                     "the WebSocket door (--ws-port)", webSocket)) {
            return failed;
        }
    }
    if (config_.statusPort != 0) {
        if (auto failed =
                takeOrBind(executor_, passed, "status", config_.statusBind, config_.statusPort,
                           "the status pages (--status-listen)", statusAcceptor_)) {
            return failed;
        }
    }
    server::RelayListeners listeners{std::move(*control), std::move(*http), std::move(webSocket)};
    if (auto failed = relay_.start(std::move(listeners))) {
        return fmt::format("Cannot {}: {}", failed->what, failed->error.message());
    }
    if (statusAcceptor_) {
        log_.info(fmt::format("Status pages on http://{}/ (/healthz, /status, /metrics)",
                              net::formatEndpoint(statusAcceptor_->local_endpoint())));
        asio::co_spawn(executor_, statusListener_.run(*statusAcceptor_),
                       net::reportFailures("the status listener"));
    }
    return std::nullopt;
}

asio::awaitable<void> RelayDaemon::drain() {
    const auto started = std::chrono::steady_clock::now();
    const auto grace = relay_.config().drainTimeout;  // as the last reload left it
    log_.info(
        fmt::format("Draining: no new connections; {} tunnels told to reconnect, up to "
                    "{} s for the requests in flight",
                    relay_.tunnelCount(), grace.count()));
    const std::size_t cut = co_await relay_.drain(grace);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    if (cut == 0) {
        log_.info(fmt::format("Drained in {} ms", took.count()));
    } else {
        log_.warning(fmt::format("Drain timeout ({} s): {} requests still in flight are cut",
                                 grace.count(), cut));
    }
    stop();
}

asio::awaitable<net::StatusReply> RelayDaemon::askReply(std::string target) {
    const unsigned status = co_await relay_.askCertificate(std::move(target));
    co_return net::StatusReply{status, "text/plain; charset=utf-8",
                               status == 200   ? "ok\n"
                               : status == 404 ? "no certificate for this name\n"
                                               : "cannot tell now, ask again\n"};
}

void RelayDaemon::stop() {
    relay_.stop();
    if (statusAcceptor_) {
        ErrorCode ignored;
        statusAcceptor_->close(ignored);
    }
}

}  // namespace nexus

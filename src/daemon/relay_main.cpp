// SPDX-License-Identifier: AGPL-3.0-or-later
// `nexus-relay server`: open the directory, start the relay, run the loop, stop on signals.
#include "daemon/daemons.hpp"
#include "daemon/process.hpp"
#include "daemon/relay_daemon.hpp"
#include "daemon/relay_status_line.hpp"
#include "daemon/systemd_glue.hpp"
#include "net/spawn.hpp"
#include "nexus_config.hpp"
#include "sd/notifier.hpp"
#include "sd/watchdog.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <fmt/format.h>

namespace nexus {

namespace asio = boost::asio;

namespace {
// The relay starts whether or not PostgreSQL answers (tunnels wait for it), but an operator
// who just started it wants to know now, in libpq's words, rather than at the first agent.
asio::awaitable<void> probeDirectory(server::DirectoryWorker& worker, Logger& log,
                                     std::string where) {
    auto probe = [](directory::Directory& d) { return d.probe(); };
    auto probed = co_await worker.run(std::move(probe), std::chrono::seconds(10));
    if (!probed) {
        log.warning(
            fmt::format("The directory ({}) does not answer: {}; agents are refused "
                        "until it does",
                        where, worker.describe(probed.error())));
    }
}
// SIGHUP (`systemctl reload`): load the certificate again (the relay also notices renewed
// files by itself).
void reloadOnHangup(asio::signal_set& hangup, RelayDaemon& relay) {
    hangup.async_wait([&hangup, &relay](const ErrorCode& ec, int) {
        if (!ec) {
            sd::Notifier::reloading();
            relay.reloadTls();
            sd::Notifier::ready();
            reloadOnHangup(hangup, relay);
        }
    });
}
}  // namespace

int runServer(const server::ServerConfig& config, const directory::Location& where,
              LogLevel logLevel) {
    asio::io_context io(1);
    const auto logger = startDaemonProcess(io, logLevel);
    Logger& log = *logger;
    // systemd's sockets first (each socket unit names its own): one that the configuration does
    // not expect, or one missing, is a start-up error rather than a port silently not served.
    const auto expected = RelayDaemon::listenerNames(config);
    bool listenersOk = true;
    auto passed = takeListenersFromSystemd(io.get_executor(), expected, log, listenersOk);
    if (!listenersOk) {
        return 1;
    }
    auto directory = directory::open(where, directory::Creation::Never);
    if (!directory) {
        log.error(directory::explainOpenFailure(where, directory.error()));
        return 1;
    }
    server::DirectoryWorker worker(io.get_executor(), std::move(*directory));
    log.info(fmt::format("Starting nexus-relay server {}", NEXUS_VERSION));
    log.info(fmt::format("  Domain     : {} (main slug {} → {})", config.domain, config.mainSlug,
                         config.mainRedirect));
    log.info(fmt::format("  Directory  : {}", directory::describe(where)));
    RelayDaemon relay(io, config, log, worker);
    if (auto failed = relay.start(passed)) {
        log.error(*failed);
        return 1;
    }
    if (!where.postgresUrl.empty()) {
        asio::co_spawn(io, probeDirectory(worker, log, directory::describe(where)),
                       net::reportFailures("the directory probe"));
    }
    sd::Watchdog watchdog(io.get_executor());
    watchdog.start();
    RelayStatusLine statusLine(io.get_executor(), relay);
    sd::Notifier::ready(statusLine.start());
    // The first SIGTERM drains (exit 0 once done); a second one exits at once, with 128 + the
    // signal's number as a shell reports a process that signal killed.
    int exitCode = 0;
    const auto finish = [&] {
        watchdog.stop();
        relay.stop();
        io.stop();
    };
    asio::signal_set signals(io, SIGINT, SIGTERM);
    drainOnSignals(
        signals, log,
        [&] {
            sd::Notifier::stopping();
            statusLine.stop();
            asio::co_spawn(io, relay.drain(), [&](const std::exception_ptr&) { finish(); });
        },
        [&](int signal) {
            exitCode = 128 + signal;
            finish();
        });
    asio::signal_set hangup(io, SIGHUP);
    reloadOnHangup(hangup, relay);
    io.run();
    return exitCode;
}

}  // namespace nexus

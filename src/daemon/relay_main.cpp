// SPDX-License-Identifier: AGPL-3.0-or-later
// `nexus-relay server`: open the directory, start the relay, run the loop, stop on signals.
#include "daemon/daemons.hpp"
#include "daemon/process.hpp"
#include "daemon/relay_daemon.hpp"
#include "daemon/relay_status_line.hpp"
#include "daemon/systemd_glue.hpp"
#include "dbus/server_service.hpp"
#include "net/spawn.hpp"
#include "nexus_config.hpp"
#include "sd/notifier.hpp"
#include "sd/watchdog.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <fmt/format.h>

#include <variant>

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
// SIGHUP (`systemctl reload`): read the configuration again and apply what can change while
// the relay runs; load the certificate again (the relay also notices renewed files by itself).
// Tunnels and requests under way are not touched.
class RelayReloader {
public:
    RelayReloader(RelayDaemon& relay, server::DirectoryWorker& worker, Logger& log,
                  ServerSettings& running, Reread<ServerSettings> reread,
                  RelayStatusLine& statusLine)
        : relay_(relay),
          worker_(worker),
          log_(log),
          running_(running),
          reread_(std::move(reread)),
          statusLine_(statusLine) {}

    void waitFor(asio::signal_set& hangup) {
        hangup.async_wait([this, &hangup](const ErrorCode& ec, int) {
            if (!ec) {
                reload();
                waitFor(hangup);
            }
        });
    }

private:
    void reload() {
        sd::Notifier::reloading();
        auto next = reread_();
        if (auto* problem = std::get_if<std::string>(&next)) {
            logReloadFailure(log_, *problem);
        } else {
            apply(std::get<ServerSettings>(next));
        }
        relay_.reloadTls();
        sd::Notifier::ready(statusLine_.current());
    }

    void apply(const ServerSettings& next) {
        log_.setLevel(next.logLevel);
        running_.logLevel = next.logLevel;
        const auto fixed = relay_.relay().reconfigure(next.config);
        if (next.directory.sqlitePath != running_.directory.sqlitePath ||
            next.directory.postgresUrl != running_.directory.postgresUrl) {
            auto opened = directory::open(next.directory, directory::Creation::Never);
            if (opened) {
                worker_.replace(std::move(*opened));
                running_.directory = next.directory;
                log_.info(fmt::format("Directory now {}", directory::describe(next.directory)));
            } else {
                log_.error(
                    fmt::format("Reload: {}; the directory stays {}",
                                directory::explainOpenFailure(next.directory, opened.error()),
                                directory::describe(running_.directory)));
            }
        }
        logStartOnlyChanges(log_, fixed, "relay");
        log_.info("Configuration reloaded");
    }

    RelayDaemon& relay_;
    server::DirectoryWorker& worker_;
    Logger& log_;
    ServerSettings& running_;
    Reread<ServerSettings> reread_;
    RelayStatusLine& statusLine_;
};
}  // namespace

int runServer(ServerSettings settings, Reread<ServerSettings> reread) {
    const server::ServerConfig& config = settings.config;
    const directory::Location& where = settings.directory;
    const LogLevel logLevel = settings.logLevel;
    const dbus::BusKind bus = settings.bus;
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
    std::optional<dbus::ServerService> busObject;
    if (bus != dbus::BusKind::Off) {
        busObject.emplace(io.get_executor(), relay.relay(), bus, log);
        relay.addObserver(*busObject);
    }
    if (auto failed = relay.start(passed)) {
        log.error(*failed);
        return 1;
    }
    if (busObject) {
        busObject->start();
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
            if (busObject) {
                busObject->stop();
            }
            statusLine.stop();
            asio::co_spawn(io, relay.drain(), [&](const std::exception_ptr&) { finish(); });
        },
        [&](int signal) {
            exitCode = 128 + signal;
            finish();
        });
    RelayReloader reloader(relay, worker, log, settings, std::move(reread), statusLine);
    asio::signal_set hangup(io, SIGHUP);
    reloader.waitFor(hangup);
    io.run();
    return exitCode;
}

}  // namespace nexus

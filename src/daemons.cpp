// SPDX-License-Identifier: AGPL-3.0-or-later
// `nexus-relay server` and `nexus-relay client`: wire the objects, run the loop, stop on signals.
#include "agent_log.hpp"
#include "client/agent.hpp"
#include "client/agent_pages.hpp"
#include "commands.hpp"
#include "net/connect.hpp"
#include "net/listen.hpp"
#include "net/spawn.hpp"
#include "net/status_listener.hpp"
#include "nexus_config.hpp"
#include "relay_daemon.hpp"
#include "sd/notifier.hpp"
#include "sd/watchdog.hpp"
#include "stderr_logger.hpp"
#include "systemd_glue.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <fmt/format.h>

#if NEXUS_HAVE_MIMALLOC
#include <mimalloc.h>
#endif
#include <malloc.h>
#include <sys/resource.h>

#include <csignal>

namespace nexus {

namespace asio = boost::asio;

Result<std::unique_ptr<directory::Directory>> openDirectory(const DirectoryLocation& where,
                                                            directory::Creation creation) {
    if (!where.postgresUrl.empty()) {
        return directory::openPostgres(where.postgresUrl);
    }
    return directory::openSqlite(where.sqlitePath, creation);
}

std::string explainOpenFailure(const DirectoryLocation& where, const ErrorCode& error) {
    std::string text = fmt::format("cannot open the directory ({}): {}", describeDirectory(where),
                                   error.message());
    if (where.postgresUrl.empty() && error == std::errc::no_such_file_or_directory) {
        text += fmt::format(
            " (create it with `nexus-relay directory init --database {}`, or "
            "check --database)",
            where.sqlitePath);
    }
    return text;
}

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
// SIGHUP: load the certificate again (the relay also notices renewed files by itself).
void reloadOnHangup(asio::signal_set& hangup, RelayDaemon& relay) {
    hangup.async_wait([&hangup, &relay](const ErrorCode& ec, int) {
        if (!ec) {
            relay.reloadTls();
            reloadOnHangup(hangup, relay);
        }
    });
}
// SIGHUP on the agent (`systemctl reload`): its settings are read at start only, so say so
// rather than die of the signal's default action, and tell systemd the reload is over.
void answerHangup(asio::signal_set& hangup, Logger& log) {
    hangup.async_wait([&hangup, &log](const ErrorCode& ec, int) {
        if (!ec) {
            sd::Notifier::reloading();
            log.warning(
                "Reload requested: the agent reads its configuration at start only; "
                "restart it to apply changes");
            sd::Notifier::ready();
            answerHangup(hangup, log);
        }
    });
}
// SIGINT/SIGTERM: log, stop the service, stop the loop.
template <typename Stop>
void stopOnSignals(asio::signal_set& signals, asio::io_context& io, Logger& log, Stop stop) {
    signals.async_wait([&io, &log, stop](const ErrorCode& ec, int signal) mutable {
        if (!ec) {
            log.info(fmt::format("Received signal {}, shutting down", signal));
            stop();
            io.stop();
        }
    });
}
// Every visitor, stream and WebSocket holds descriptors; the usual soft limit of 1024 would
// refuse connections long before memory or CPU run short. The hard limit is the
// administrator's (LimitNOFILE= in the unit); up to it is ours to take.
void raiseDescriptorLimit(Logger& log) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) {
        return;
    }
    const rlim_t before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) == 0) {
        log.debug(fmt::format("Open file limit raised from {} to {}", before, limit.rlim_cur));
    }
}
// The allocator: mimalloc when the build has it (it replaces malloc for the whole process,
// libraries included), else glibc's, tuned. glibc hands the top of the heap back to the kernel
// as soon as 128 KiB of it is free, and takes it back at the next burst: under steady load
// that was a brk() and freshly zeroed pages every few dozen requests. Keeping up to 8 MiB
// spare costs little next to the streams' own budget. Fixing the mmap threshold (which the
// trim setting would otherwise freeze at 128 KiB) keeps a download's pieces on the heap.
void setUpAllocator(Logger& log) {
#if NEXUS_HAVE_MIMALLOC
    const int version = mi_version();
    log.debug(fmt::format("Memory allocator: mimalloc {}.{}.{}", version / 100, version / 10 % 10,
                          version % 10));
#elif defined(__GLIBC__)
    ::mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
    ::mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
    ::mallopt(M_TOP_PAD, 1024 * 1024);
    log.debug("Memory allocator: glibc malloc");
#else
    log.debug("Memory allocator: the C library's");
#endif
}
// An exception that ended a detached coroutine: logged with what the coroutine was.
void logFailures(Logger& log) {
    net::setFailureHandler([&log](std::string_view what, std::exception_ptr failure) {
        log.error(fmt::format("Unexpected failure in {}: {}", what,
                              net::describeFailure(std::move(failure))));
    });
}
}  // namespace

std::string describeDirectory(const DirectoryLocation& where) {
    return where.postgresUrl.empty() ? "SQLite " + where.sqlitePath : std::string("PostgreSQL");
}

int runServer(const server::ServerConfig& config, const DirectoryLocation& where,
              LogLevel logLevel) {
    StderrLogger log(logLevel);
    std::signal(SIGPIPE, SIG_IGN);
    logFailures(log);
    raiseDescriptorLimit(log);
    setUpAllocator(log);
    auto directory = openDirectory(where, directory::Creation::Never);
    if (!directory) {
        log.error(explainOpenFailure(where, directory.error()));
        return 1;
    }
    asio::io_context io(1);
    log.batchOn(io.get_executor());
    server::DirectoryWorker worker(io.get_executor(), std::move(*directory));
    log.info(fmt::format("Starting nexus-relay server {}", NEXUS_VERSION));
    log.info(fmt::format("  Domain     : {} (main slug {} → {})", config.domain, config.mainSlug,
                         config.mainRedirect));
    log.info(fmt::format("  Directory  : {}", describeDirectory(where)));
    RelayDaemon relay(io, config, log, worker);
    if (auto failed = relay.start()) {
        log.error(*failed);
        return 1;
    }
    if (!where.postgresUrl.empty()) {
        asio::co_spawn(io, probeDirectory(worker, log, describeDirectory(where)), asio::detached);
    }
    asio::signal_set signals(io, SIGINT, SIGTERM);
    stopOnSignals(signals, io, log, [&relay] { relay.stop(); });
    asio::signal_set hangup(io, SIGHUP);
    reloadOnHangup(hangup, relay);
    io.run();
    return 0;
}

int runClient(const client::AgentConfig& config, const std::string& statusListen,
              LogLevel logLevel) {
    asio::io_context io(1);
    const auto logger = makeDaemonLogger(logLevel, "nexus-relay", io.get_executor());
    Logger& log = *logger;
    std::signal(SIGPIPE, SIG_IGN);
    logFailures(log);
    raiseDescriptorLimit(log);
    setUpAllocator(log);
    // The status pages' socket first, from systemd (nexus-relay-client.socket) or bound here:
    // a port that is taken is a start-up error, not a surprise at the first scrape.
    const bool statusOn = statusListen != "off";
    std::vector<std::string_view> expected;
    if (statusOn) {
        expected.emplace_back("status");
    }
    bool listenersOk = true;
    auto passed = takeListenersFromSystemd(io.get_executor(), expected, log, listenersOk);
    if (!listenersOk) {
        return 1;
    }
    std::optional<asio::ip::tcp::acceptor> statusAcceptor = passed.take("status");
    if (statusOn && !statusAcceptor) {
        const auto where = net::parseHostPort(statusListen);
        auto acceptor = where ? net::bindAcceptor(io.get_executor(), where->host, where->port)
                              : Result<asio::ip::tcp::acceptor>(where.error());
        if (!acceptor) {
            log.error(fmt::format("Cannot listen on {} for the status pages (--status-listen): {}",
                                  statusListen, acceptor.error().message()));
            return 1;
        }
        statusAcceptor.emplace(std::move(*acceptor));
    }
    log.info(fmt::format("nexus-relay client {} starting", NEXUS_VERSION));
    log.info(fmt::format("  Server : {}", config.serverText));
    log.info(fmt::format("  Slug   : {}", config.slug));
    log.info(fmt::format("  Local  : {}:{}", config.localHost, config.localPort));
    client::Agent agent(io.get_executor(), config);
    logAgentEvents(agent.board(), log, logLevel);
    reportAgentToSystemd(agent.board());
    std::optional<net::StatusListener> statusPages;
    if (statusAcceptor) {
        log.info(fmt::format("  Status : http://{}/healthz, /status, /metrics",
                             net::formatEndpoint(statusAcceptor->local_endpoint())));
        statusPages.emplace(io.get_executor(),
                            client::agentStatusRoutes([&agent]() -> const client::AgentStatus& {
                                return agent.status();
                            }));
        asio::co_spawn(io, statusPages->run(*statusAcceptor), asio::detached);
    }
    asio::co_spawn(io, agent.run(), asio::detached);
    sd::Watchdog watchdog(io.get_executor());
    watchdog.start();
    // The agent is ready as soon as it runs: being connected is its state, not its start-up.
    sd::Notifier::ready(client::summaryLine(agent.status(), std::chrono::system_clock::now()));
    asio::signal_set hangup(io, SIGHUP);
    answerHangup(hangup, log);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    stopOnSignals(signals, io, log, [&agent, &statusAcceptor, &watchdog] {
        sd::Notifier::stopping();
        watchdog.stop();
        agent.stop();
        if (statusAcceptor) {
            ErrorCode ignored;
            statusAcceptor->close(ignored);
        }
    });
    io.run();
    return 0;
}

}  // namespace nexus

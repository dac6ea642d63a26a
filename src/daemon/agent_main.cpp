// SPDX-License-Identifier: AGPL-3.0-or-later
// `nexus-relay client`: take or bind the status listener, start the agent, run the loop, stop
// on signals.
#include "client/agent.hpp"
#include "client/agent_pages.hpp"
#include "daemon/agent_log.hpp"
#include "daemon/daemons.hpp"
#include "daemon/process.hpp"
#include "daemon/resident_pages.hpp"
#include "daemon/systemd_glue.hpp"
#include "dbus/client_service.hpp"
#include "net/connect.hpp"
#include "net/listen.hpp"
#include "net/spawn.hpp"
#include "net/status_listener.hpp"
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
// SIGHUP on the agent (`systemctl reload`): read the configuration again and apply what can
// change while the agent runs (log level, local address, timeouts); the session is not
// touched.
void reloadOnHangup(asio::signal_set& hangup, client::Agent& agent, Logger& log,
                    ClientSettings& running, const Reread<ClientSettings>& reread) {
    hangup.async_wait([&hangup, &agent, &log, &running, &reread](const ErrorCode& ec, int) {
        if (ec) {
            return;
        }
        sd::Notifier::reloading();
        auto next = reread();
        if (auto* problem = std::get_if<std::string>(&next)) {
            logReloadFailure(log, *problem);
        } else {
            auto& settings = std::get<ClientSettings>(next);
            log.setLevel(settings.logLevel);
            auto fixed = agent.reconfigure(settings.config);
            if (settings.statusListen != running.statusListen) {
                fixed.emplace_back("--status-listen");
            }
            logStartOnlyChanges(log, fixed, "agent");
            log.info(fmt::format("Configuration reloaded; local app at {}:{}",
                                 agent.config().localHost, agent.config().localPort));
        }
        sd::Notifier::ready(client::summaryLine(agent.status(), std::chrono::system_clock::now()));
        reloadOnHangup(hangup, agent, log, running, reread);
    });
}
}  // namespace

int runClient(ClientSettings settings, const Reread<ClientSettings>& reread) {
    const client::AgentConfig& config = settings.config;
    const std::string& statusListen = settings.statusListen;
    const LogLevel logLevel = settings.logLevel;
    const dbus::BusKind bus = settings.bus;
    asio::io_context io(1);
    const auto logger = startDaemonProcess(io, logLevel);
    Logger& log = *logger;
    returnFreedMemoryPromptly(log);
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
    if (settings.sources.fromStateFile) {
        log.info(
            fmt::format("Using slug \"{}\" set by nexusctl set-slug ({}); remove the file to "
                        "go back to {}",
                        config.slug, settings.sources.stateFile,
                        settings.sources.configFile.empty() ? "the command line"
                                                            : settings.sources.configFile));
    }
    client::Agent agent(io.get_executor(), config);
    logAgentEvents(agent.board(), log);
    reportAgentToSystemd(agent.board());
    std::optional<net::StatusListener> statusPages;
    if (statusAcceptor) {
        log.info(fmt::format("  Status : http://{}/healthz, /status, /metrics",
                             net::formatEndpoint(statusAcceptor->local_endpoint())));
        statusPages.emplace(io.get_executor(),
                            client::agentStatusRoutes([&agent]() -> const client::AgentStatus& {
                                return agent.status();
                            }));
        asio::co_spawn(io, statusPages->run(*statusAcceptor),
                       net::reportFailures("the status listener"));
    }
    std::optional<dbus::ClientService> busObject;
    if (bus != dbus::BusKind::Off) {
        const auto store = [&log, &sources = settings.sources](const std::string& slug,
                                                               const std::string& token) {
            auto stored = storeSlugAndToken(sources, slug, token);
            switch (stored.where) {
                case SlugStoring::Where::Sources:
                    log.info(fmt::format("Slug \"{}\" and its token stored in {} and {}", slug,
                                         sources.configFile, sources.tokenFile));
                    break;
                case SlugStoring::Where::StateFile:
                    // From now on the state file holds the running slug: the next change goes
                    // there too, or the file would hide it.
                    sources.fromStateFile = true;
                    log.info(fmt::format("Slug \"{}\": {}", slug, stored.note));
                    break;
                case SlugStoring::Where::Nowhere:
                    log.warning(fmt::format("Slug \"{}\" {}", slug, stored.note));
                    break;
            }
            return stored.note;
        };
        busObject.emplace(io.get_executor(), agent, bus, log, store);
        busObject->start();
    }
    asio::co_spawn(io, agent.run(), net::reportFailures("the agent"));
    // Above 3 MiB of program and library pages, those not used since the last look go
    // (resident_pages.hpp); checked four times a second, which costs one read of /proc/self/statm
    // each.
    asio::co_spawn(io, keepResidentPagesTrimmed(std::chrono::milliseconds(250), 3U << 20U),
                   net::reportFailures("the resident page trimmer"));
    sd::Watchdog watchdog(io.get_executor());
    watchdog.start();
    // The agent is ready as soon as it runs: being connected is its state, not its start-up.
    sd::Notifier::ready(client::summaryLine(agent.status(), std::chrono::system_clock::now()));
    asio::signal_set hangup(io, SIGHUP);
    reloadOnHangup(hangup, agent, log, settings, reread);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    stopOnSignals(signals, log, [&io, &agent, &statusAcceptor, &watchdog, &busObject] {
        sd::Notifier::stopping();
        watchdog.stop();
        if (busObject) {
            busObject->stop();
        }
        agent.stop();
        if (statusAcceptor) {
            ErrorCode ignored;
            statusAcceptor->close(ignored);
        }
        io.stop();
    });
    io.run();
    return 0;
}

}  // namespace nexus

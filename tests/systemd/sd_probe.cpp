// SPDX-License-Identifier: AGPL-3.0-or-later
// A tiny daemon around src/sd for the systemd tests: each command drives one piece the way a
// daemon would, against what the test set up (passed sockets, NOTIFY_SOCKET, WATCHDOG_USEC, a
// journal), and the test checks what reached the other side.
//
//   sd_probe listen NAME...      adopt the sockets systemd passed; print "NAME PORT" for each,
//                                then answer one connection on each with its name
//   sd_probe notify              READY=1 with a status, a hostile STATUS=, RELOADING, STOPPING
//   sd_probe watchdog RUN BLOCK  run the loop RUN ms with the watchdog, block it BLOCK ms, run
//                                RUN ms more (STATUS=blocking / STATUS=unblocked around it)
//   sd_probe journal             log entries with fields through the journal sink
//   sd_probe sink                print "journal" or "stderr": which sink the daemon would pick
#include "sd/journal_logger.hpp"
#include "sd/listen_fds.hpp"
#include "sd/message_ids.hpp"
#include "sd/notifier.hpp"
#include "sd/watchdog.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace nexus;

namespace {

int listen(const std::vector<std::string_view>& expected) {
    asio::io_context io;
    auto passed = sd::takePassedListeners(io.get_executor(), expected);
    if (!passed.error.empty()) {
        std::fprintf(stderr, "error: %s\n", passed.error.c_str());
        return 1;
    }
    if (!passed.activated()) {
        std::puts("not socket-activated");
        return 3;
    }
    for (auto& [name, acceptor] : passed.acceptors) {
        std::printf("%s %u\n", name.c_str(), acceptor.local_endpoint().port());
    }
    std::fflush(stdout);
    for (auto& [name, acceptor] : passed.acceptors) {
        auto socket = acceptor.accept();
        asio::write(socket, asio::buffer(name));
    }
    return 0;
}

int notify() {
    if (!sd::Notifier::enabled()) {
        return 3;
    }
    sd::Notifier::ready("Registered as slug \"demo\"");
    // A status built from network text must not add assignments of its own.
    sd::Notifier::status("evil\nREADY=1");
    sd::Notifier::reloading();
    sd::Notifier::ready();
    sd::Notifier::stopping();
    return 0;
}

int watchdog(std::chrono::milliseconds run, std::chrono::milliseconds block) {
    asio::io_context io;
    sd::Watchdog dog(io.get_executor());
    if (!dog.start()) {
        std::puts("watchdog off");
        return 3;
    }
    asio::steady_timer timer(io, run);
    timer.async_wait([&](const boost::system::error_code&) {
        sd::Notifier::status("blocking");
        std::this_thread::sleep_for(block);  // a handler that never yields: the loop is stuck
        sd::Notifier::status("unblocked");
        timer.expires_after(run);
        timer.async_wait([&](const boost::system::error_code&) { dog.stop(); });
    });
    io.run();
    return 0;
}

int journal() {
    sd::JournalLogger log(LogLevel::Info, "nexus-relay");
    log.debug("below the minimum level", {{"NEXUS_SLUG", "demo"}});
    log.info("Tunnel registered: slug \"demo\" from 203.0.113.7:50122 over tcp",
             {sd::message_id::field(sd::message_id::kTunnelRegistered),
              {"NEXUS_SLUG", "demo"},
              {"NEXUS_REMOTE", "203.0.113.7:50122"},
              {"NEXUS_DOOR", "tcp"},
              {"NEXUS_PROTOCOL", "v2"}});
    log.warning("GET /a\nforged line", {{"NEXUS_SLUG", "demo"},
                                        {"NEXUS_REQUEST_ID", "r-1"},
                                        {"NEXUS_METHOD", "GET"},
                                        {"NEXUS_PATH", "/a\nb"},
                                        {"NEXUS_STATUS", "502"},
                                        {"NEXUS_DURATION_US", "1234"},
                                        {"bad-name", "dropped"}});
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string_view> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::fputs("usage: sd_probe listen|notify|watchdog|journal|sink ...\n", stderr);
        return 2;
    }
    if (args[0] == "listen") {
        return listen({args.begin() + 1, args.end()});
    }
    if (args[0] == "notify") {
        return notify();
    }
    if (args[0] == "watchdog" && args.size() == 3) {
        return watchdog(std::chrono::milliseconds(std::atoi(argv[2])),
                        std::chrono::milliseconds(std::atoi(argv[3])));
    }
    if (args[0] == "journal") {
        return journal();
    }
    if (args[0] == "sink") {
        std::puts(sd::stderrIsJournal() ? "journal" : "stderr");
        return 0;
    }
    std::fputs("sd_probe: unknown command\n", stderr);
    return 2;
}

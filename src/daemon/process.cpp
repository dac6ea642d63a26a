// SPDX-License-Identifier: AGPL-3.0-or-later
// The process set-up both daemons share: signals, limits, allocator, lost exceptions.
#include "daemon/process.hpp"

#include "daemon/systemd_glue.hpp"
#include "net/spawn.hpp"
#include "nexus_config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#if NEXUS_HAVE_MIMALLOC
#include <mimalloc.h>
#endif
#include <malloc.h>
#include <sys/resource.h>

#include <csignal>

namespace nexus {

namespace {
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

std::unique_ptr<Logger> startDaemonProcess(boost::asio::io_context& io, LogLevel level) {
    auto log = makeDaemonLogger(level, "nexus-relay", io.get_executor());
    prepareProcess(*log);
    return log;
}

void prepareProcess(Logger& log) {
    std::signal(SIGPIPE, SIG_IGN);
    logFailures(log);
    raiseDescriptorLimit(log);
    setUpAllocator(log);
}

// mimalloc decommits a freed page 25 ms after the free by default, and only when a later
// allocation of the same thread gets round to it: an agent back to idle after a burst of
// large bodies kept 10 MiB of pages it no longer used. glibc is given back its default trim
// threshold (setUpAllocator raised it for the relay).
void returnFreedMemoryPromptly(Logger& log) {
#if NEXUS_HAVE_MIMALLOC
    mi_option_set(mi_option_decommit_delay, 0);
    log.debug("Memory allocator: freed pages go back to the kernel at once");
#elif defined(__GLIBC__)
    ::mallopt(M_TRIM_THRESHOLD, 128 * 1024);
    ::mallopt(M_TOP_PAD, 0);
    log.debug("Memory allocator: the heap's free top goes back to the kernel above 128 KiB");
#endif
}

void logReloadFailure(Logger& log, std::string_view problem) {
    log.error(fmt::format("Reload failed, the running configuration stays: {}", problem));
}

void logStartOnlyChanges(Logger& log, std::span<const std::string_view> fixed,
                         std::string_view daemon) {
    if (!fixed.empty()) {
        log.warning(
            fmt::format("Reload: {} changed, but {} read at start only; restart the {} to apply",
                        fmt::join(fixed, ", "), fixed.size() == 1 ? "it is" : "they are", daemon));
    }
}

void stopOnSignals(boost::asio::signal_set& signals, Logger& log, std::function<void()> stop) {
    signals.async_wait([&log, stop = std::move(stop)](const ErrorCode& ec, int signal) {
        if (!ec) {
            log.info(fmt::format("Received signal {}, shutting down", signal));
            stop();
        }
    });
}

void drainOnSignals(boost::asio::signal_set& signals, Logger& log, std::function<void()> drain,
                    std::function<void(int)> now) {
    signals.async_wait([&signals, &log, drain = std::move(drain), now = std::move(now)](
                           const ErrorCode& ec, int signal) mutable {
        if (ec) {
            return;
        }
        log.info(
            fmt::format("Received signal {}, draining (send it again to exit at once)", signal));
        signals.async_wait([&log, now = std::move(now)](const ErrorCode& again, int second) {
            if (!again) {
                log.warning(fmt::format("Received signal {} again, exiting now", second));
                now(second);
            }
        });
        drain();
    });
}

}  // namespace nexus

// SPDX-License-Identifier: AGPL-3.0-or-later
#include "daemon/resident_pages.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

namespace nexus {

namespace {

struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};

// One mapping's head line of /proc/self/smaps: "begin-end perms offset dev inode path".
// Returns false for the lines of fields that follow it.
bool parseHead(const char* line, std::uintptr_t& begin, std::uintptr_t& end, char (&perms)[5],
               std::uint64_t& inode, bool& hasPath) {
    unsigned long long from = 0;
    unsigned long long to = 0;
    unsigned long long offset = 0;
    unsigned long long node = 0;
    char device[16] = {};
    int consumed = 0;
    if (std::sscanf(line, "%llx-%llx %4s %llx %15s %llu %n", &from, &to, perms, &offset, device,
                    &node, &consumed) != 6) {
        return false;
    }
    begin = static_cast<std::uintptr_t>(from);
    end = static_cast<std::uintptr_t>(to);
    inode = node;
    hasPath = line[consumed] == '/';
    return true;
}

}  // namespace

std::size_t residentFileBytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t size = 0;
    std::size_t resident = 0;
    std::size_t shared = 0;
    if (!(statm >> size >> resident >> shared)) {
        return 0;
    }
    return shared * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

std::size_t ResidentPageTrimmer::trim() {
    const std::unique_ptr<std::FILE, FileCloser> smaps(std::fopen("/proc/self/smaps", "re"));
    if (!smaps) {
        return 0;
    }
    std::vector<Mapping> candidates;
    Mapping current;
    bool readOnlyFile = false;
    char line[512];
    while (std::fgets(line, sizeof line, smaps.get()) != nullptr) {
        char perms[5] = {};
        bool hasPath = false;
        if (parseHead(line, current.begin, current.end, perms, current.inode, hasPath)) {
            // Private, never writable, backed by a file: the text and read-only data of the
            // program and its libraries. Writable data and RELRO (relocated, then made read
            // only) hold private copies, which the Anonymous line below rules out.
            readOnlyFile = hasPath && current.inode != 0 && perms[1] != 'w' && perms[3] == 'p';
            continue;
        }
        unsigned long anonymousKib = 0;
        if (readOnlyFile && std::sscanf(line, "Anonymous: %lu kB", &anonymousKib) == 1) {
            if (anonymousKib == 0) {
                candidates.push_back(current);
            }
            readOnlyFile = false;
        }
    }
    std::size_t advised = 0;
    for (const Mapping& mapping : candidates) {
        if (std::binary_search(seen_.begin(), seen_.end(), mapping)) {
            // NOLINTNEXTLINE(performance-no-int-to-ptr): an address /proc gave us.
            void* start = reinterpret_cast<void*>(mapping.begin);
            if (::madvise(start, mapping.end - mapping.begin, MADV_DONTNEED) == 0) {
                advised += mapping.end - mapping.begin;
            }
        }
    }
    std::sort(candidates.begin(), candidates.end());
    seen_ = std::move(candidates);
    return advised;
}

boost::asio::awaitable<void> keepResidentPagesTrimmed(std::chrono::milliseconds period,
                                                      std::size_t threshold) {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    ResidentPageTrimmer trimmer;
    trimmer.trim();  // the first look: nothing is trimmed before a second one agrees
    for (;;) {
        timer.expires_after(period);
        co_await timer.async_wait(boost::asio::use_awaitable);
        if (residentFileBytes() > threshold) {
            trimmer.trim();
        }
    }
}

}  // namespace nexus

// SPDX-License-Identifier: AGPL-3.0-or-later
// The agent's resident set kept to the code it runs. The kernel maps a program's and its
// libraries' pages into a process around each page it touches (fault-around, large folios):
// start-up code, the relay's code in the same binary, whole neighbourhoods of libcrypto.
// These pages are clean copies of the files, also held by the page cache; unmapping them
// (MADV_DONTNEED) frees nothing the system needs to write back, and the next use maps them
// again from the cache. What stays resident is what the agent really uses, which is what
// `ps`, `top` and the budgets in the README count. The relay, with its own CPU to spare
// and no small board to fit, does not do this.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace nexus {

/// Bytes of this process's file-backed resident pages (the "shared" column of
/// /proc/self/statm), or 0 when it cannot be read.
std::size_t residentFileBytes();

class ResidentPageTrimmer {
public:
    /// Unmaps the clean pages of the read-only file mappings that were already there, the
    /// same, at the previous call, and that hold no private copy (a relocated page would
    /// lose its relocations). A mapping seen only once is left for the next call: it may
    /// belong to a library being loaded right now by another thread. Returns the number of
    /// bytes of mappings advised; 0 where /proc is not readable.
    std::size_t trim();

private:
    struct Mapping {
        std::uintptr_t begin = 0;
        std::uintptr_t end = 0;
        std::uint64_t inode = 0;
        bool operator==(const Mapping&) const = default;
        auto operator<=>(const Mapping&) const = default;
    };
    std::vector<Mapping> seen_;  ///< sorted: the candidates of the previous call
};

/// Every `period`, trims the resident pages when the file-backed ones exceed `threshold`.
/// Runs until its executor stops.
boost::asio::awaitable<void> keepResidentPagesTrimmed(std::chrono::milliseconds period,
                                                      std::size_t threshold);

}  // namespace nexus

// SPDX-License-Identifier: AGPL-3.0-or-later
// What the process itself costs, from /proc/self: for the status pages of both daemons.
#pragma once

#include <cstdint>

namespace nexus {

struct ProcessStats {
    std::uint64_t residentBytes = 0;
    std::uint64_t openFds = 0;
};

/// Zeros where /proc cannot be read.
ProcessStats readProcessStats();

}  // namespace nexus

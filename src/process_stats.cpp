// SPDX-License-Identifier: AGPL-3.0-or-later
// readProcessStats.
#include "process_stats.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>

namespace nexus {

ProcessStats readProcessStats() {
    ProcessStats stats;
    if (std::FILE* statm = std::fopen("/proc/self/statm", "r")) {
        unsigned long long size = 0;
        unsigned long long resident = 0;
        if (std::fscanf(statm, "%llu %llu", &size, &resident) == 2) {
            stats.residentBytes = resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
        }
        std::fclose(statm);
    }
    if (DIR* fds = ::opendir("/proc/self/fd")) {
        while (const dirent* entry = ::readdir(fds)) {
            if (entry->d_name[0] != '.') {
                ++stats.openFds;
            }
        }
        ::closedir(fds);
        if (stats.openFds > 0) {
            --stats.openFds;  // the directory being read
        }
    }
    return stats;
}

}  // namespace nexus

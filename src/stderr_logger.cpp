// SPDX-License-Identifier: AGPL-3.0-or-later
// StderrLogger.
#include "stderr_logger.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace nexus {

void StderrLogger::write(LogLevel level, std::string_view message,
                         std::initializer_list<LogField> /*fields*/) {
    if (level < minimum_) {
        return;
    }
    static constexpr const char* kNames[] = {"debug", "info", "warning", "error"};
    std::string line = kNames[static_cast<int>(level)];
    line += ' ';
    line += message;
    line += '\n';
    // One write per line, so lines from concurrent sessions never interleave mid-line.
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

LogLevel logLevelFromEnvironment() {
    const char* level = std::getenv("NEXUS_LOG_LEVEL");
    return level != nullptr && std::string_view(level) == "debug" ? LogLevel::Debug
                                                                  : LogLevel::Info;
}

}  // namespace nexus

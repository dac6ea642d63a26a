// SPDX-License-Identifier: AGPL-3.0-or-later
// The stderr log sink: one line per event, "LEVEL message", written in one call.
#pragma once

#include "common/log.hpp"

namespace nexus {

class StderrLogger final : public Logger {
public:
    explicit StderrLogger(LogLevel minimum) : minimum_(minimum) {}
    void write(LogLevel level, std::string_view message,
               std::initializer_list<LogField> fields) override;

private:
    LogLevel minimum_;
};

/// Debug when NEXUS_LOG_LEVEL=debug, otherwise Info.
LogLevel logLevelFromEnvironment();

}  // namespace nexus

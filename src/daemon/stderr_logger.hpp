// SPDX-License-Identifier: AGPL-3.0-or-later
// The stderr log sink: one line per event, "LEVEL message". Lines of one turn of the event
// loop leave in one write (a busy agent logs a line per request); warnings and errors at once.
#pragma once

#include "common/log.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <optional>
#include <string>

namespace nexus {

class StderrLogger final : public Logger {
public:
    explicit StderrLogger(LogLevel minimum) : minimum_(minimum) {}
    ~StderrLogger() override { flush(); }
    StderrLogger(const StderrLogger&) = delete;
    StderrLogger& operator=(const StderrLogger&) = delete;

    /// From now on, info and debug lines wait for the end of the current turn of this
    /// executor's loop (a posted flush), so many lines cost one write.
    void batchOn(boost::asio::any_io_executor executor) { executor_ = std::move(executor); }

    void write(LogLevel level, std::string_view message,
               std::initializer_list<LogField> fields) override;
    void writeEscaped(LogLevel level, std::string_view line) override;

    bool wants(LogLevel level) const override { return level >= minimum_; }
    void setLevel(LogLevel level) override { minimum_ = level; }
    bool keepsFields() const override { return false; }

    void flush();

private:
    void append(LogLevel level, std::string_view message, bool escaped);

    LogLevel minimum_;
    std::optional<boost::asio::any_io_executor> executor_;
    std::string pending_;
    bool flushPosted_ = false;
};

/// NEXUS_LOG_LEVEL (debug, info, warning or error), Info when unset or unknown.
LogLevel logLevelFromEnvironment();

}  // namespace nexus

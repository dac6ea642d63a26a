// SPDX-License-Identifier: AGPL-3.0-or-later
// The logging interface the services report through; sinks (stderr, journald) live in the
// daemon layer, so library code never decides where a line goes.
#pragma once

#include <fmt/format.h>

#include <initializer_list>
#include <string>
#include <string_view>

namespace nexus {

enum class LogLevel { Debug, Info, Warning, Error };

/// A structured field such as {"NEXUS_SLUG", "demo"}; journald keeps them, stderr drops them.
struct LogField {
    std::string_view key;
    std::string value;
};

class Logger {
public:
    virtual ~Logger() = default;
    virtual void write(LogLevel level, std::string_view message,
                       std::initializer_list<LogField> fields) = 0;

    /// Writes a line its author has already made safe: every piece that came from the network
    /// passed through appendEscapedForLog (or writeEscapedForLog), the rest is known to be
    /// plain (numbers, the relay's own words, tokens a parser checked). A sink may then skip
    /// its own escaping (one line per request); this default escapes anyway, which leaves
    /// such a line unchanged.
    virtual void writeEscaped(LogLevel level, std::string_view line) { write(level, line, {}); }

    /// Whether a line at `level` would be written: a caller with a costly line (one per
    /// request) skips building it when not.
    virtual bool wants(LogLevel /*level*/) const { return true; }

    /// Changes the least severe level written (a reload of the configuration).
    virtual void setLevel(LogLevel /*level*/) {}

    /// Whether the sink keeps structured fields (journald does, stderr does not): a caller
    /// with fields that cost something to build (one line per request) skips them when not.
    virtual bool keepsFields() const { return true; }

    void info(std::string_view message, std::initializer_list<LogField> fields = {}) {
        write(LogLevel::Info, message, fields);
    }
    void warning(std::string_view message, std::initializer_list<LogField> fields = {}) {
        write(LogLevel::Warning, message, fields);
    }
    void error(std::string_view message, std::initializer_list<LogField> fields = {}) {
        write(LogLevel::Error, message, fields);
    }
    void debug(std::string_view message, std::initializer_list<LogField> fields = {}) {
        write(LogLevel::Debug, message, fields);
    }
};

/// Discards everything; for tests and tools that have nothing to say.
class NullLogger final : public Logger {
public:
    void write(LogLevel, std::string_view, std::initializer_list<LogField>) override {}
};

}  // namespace nexus

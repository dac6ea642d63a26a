// SPDX-License-Identifier: AGPL-3.0-or-later
// StderrLogger.
#include "daemon/stderr_logger.hpp"

#include "common/log_escape.hpp"

#include <boost/asio/post.hpp>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace nexus {

namespace {
constexpr std::size_t kMaxPending = 64 * 1024;
}  // namespace

void StderrLogger::write(LogLevel level, std::string_view message,
                         std::initializer_list<LogField> /*fields*/) {
    append(level, message, false);
}

void StderrLogger::writeEscaped(LogLevel level, std::string_view line) {
    append(level, line, true);
}

void StderrLogger::append(LogLevel level, std::string_view message, bool escaped) {
    if (level < minimum_) {
        return;
    }
    static constexpr std::string_view kNames[] = {"debug ", "info ", "warning ", "error "};
    pending_ += kNames[static_cast<int>(level)];
    if (escaped) {
        pending_ += message;
    } else {
        appendEscapedForLog(pending_, message);  // one event, one line, whatever it quotes
    }
    pending_ += '\n';
    if (!executor_ || level >= LogLevel::Warning || pending_.size() >= kMaxPending) {
        flush();
    } else if (!flushPosted_) {
        flushPosted_ = true;
        boost::asio::post(*executor_, [this] {
            flushPosted_ = false;
            flush();
        });
    }
}

void StderrLogger::flush() {
    if (pending_.empty()) {
        return;
    }
    // Whole lines in one write, so lines never interleave mid-line with another writer.
    std::fwrite(pending_.data(), 1, pending_.size(), stderr);
    std::fflush(stderr);
    pending_.clear();
}

LogLevel logLevelFromEnvironment() {
    const char* text = std::getenv("NEXUS_LOG_LEVEL");
    const std::string_view level = text != nullptr ? text : "";
    if (level == "debug") {
        return LogLevel::Debug;
    }
    if (level == "warning") {
        return LogLevel::Warning;
    }
    return level == "error" ? LogLevel::Error : LogLevel::Info;
}

}  // namespace nexus

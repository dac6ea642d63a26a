// SPDX-License-Identifier: AGPL-3.0-or-later
// JournalLogger (journal_logger.hpp).
#include "sd/journal_logger.hpp"

#include "common/log_escape.hpp"

#include <systemd/sd-journal.h>

#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <optional>

namespace nexus::sd {

namespace {

// Parses the decimal number in front of `text`, advancing it; nullopt when there is none.
template <typename Number>
std::optional<Number> leadingNumber(std::string_view& text) {
    Number value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end == text.data()) {
        return std::nullopt;
    }
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    return value;
}

}  // namespace

bool isJournalFieldName(std::string_view name) {
    if (name.empty() || name.size() > 64 || name.front() == '_' ||
        (name.front() >= '0' && name.front() <= '9')) {
        return false;
    }
    for (const char c : name) {
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    return true;
}

int journalPriority(LogLevel level) {
    switch (level) {
        case LogLevel::Debug: return 7;    // LOG_DEBUG
        case LogLevel::Info: return 6;     // LOG_INFO
        case LogLevel::Warning: return 4;  // LOG_WARNING
        case LogLevel::Error: return 3;    // LOG_ERR
    }
    return 6;
}

std::vector<std::string> JournalLogger::entry(LogLevel level, std::string_view message,
                                              std::initializer_list<LogField> fields) const {
    std::vector<std::string> out;
    out.reserve(3 + fields.size());
    std::string text = "MESSAGE=";
    appendEscapedForLog(text, message);
    out.push_back(std::move(text));
    out.push_back("PRIORITY=" + std::to_string(journalPriority(level)));
    out.push_back("SYSLOG_IDENTIFIER=" + identifier_);
    for (const auto& field : fields) {
        // MESSAGE, PRIORITY and SYSLOG_IDENTIFIER are ours: a field of the same name would
        // give the entry two values the reader cannot tell apart.
        if (!isJournalFieldName(field.key) || field.key == "MESSAGE" || field.key == "PRIORITY" ||
            field.key == "SYSLOG_IDENTIFIER") {
            continue;
        }
        std::string item(field.key);
        item += '=';
        appendEscapedForLog(item, field.value);
        out.push_back(std::move(item));
    }
    return out;
}

void JournalLogger::write(LogLevel level, std::string_view message,
                          std::initializer_list<LogField> fields) {
    if (level < minimum_) {
        return;
    }
    const auto items = entry(level, message, fields);
    std::vector<iovec> vector;
    vector.reserve(items.size());
    for (const auto& item : items) {
        // sd_journal_sendv does not write through iov_base: the cast only meets its C type.
        vector.push_back({const_cast<char*>(item.data()), item.size()});  // NOLINT
    }
    // A failure (journald gone) has nowhere better to be reported than where it failed.
    (void)sd_journal_sendv(vector.data(), static_cast<int>(vector.size()));
}

bool journalStreamNames(std::string_view journalStream, dev_t device, ino_t inode) {
    std::string_view rest = journalStream;
    const auto streamDevice = leadingNumber<unsigned long long>(rest);
    if (!streamDevice || rest.empty() || rest.front() != ':') {
        return false;
    }
    rest.remove_prefix(1);
    const auto streamInode = leadingNumber<unsigned long long>(rest);
    return streamInode && rest.empty() && *streamDevice == device && *streamInode == inode;
}

bool stderrIsJournal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    struct stat status {};
    if (stream == nullptr || ::fstat(STDERR_FILENO, &status) != 0) {
        return false;
    }
    return journalStreamNames(stream, status.st_dev, status.st_ino);
}

}  // namespace nexus::sd

// SPDX-License-Identifier: AGPL-3.0-or-later
// The journald log sink: each event goes to the journal as one entry, with MESSAGE, PRIORITY,
// SYSLOG_IDENTIFIER and every LogField as a field of its own (NEXUS_SLUG=demo...), so
// `journalctl -u nexus-relay-client NEXUS_SLUG=demo` finds a slug's lines.
#pragma once

#include "common/log.hpp"

#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace nexus::sd {

class JournalLogger final : public Logger {
public:
    JournalLogger(LogLevel minimum, std::string identifier)
        : minimum_(minimum), identifier_(std::move(identifier)) {}

    void write(LogLevel level, std::string_view message,
               std::initializer_list<LogField> fields) override;
    bool wants(LogLevel level) const override { return level >= minimum_; }
    void setLevel(LogLevel level) override { minimum_ = level; }

    /// The "NAME=value" fields of one entry, in the order they are sent. Values are escaped
    /// as on stderr (one event, one line, whatever it quotes); a field whose name the journal
    /// would refuse (see isJournalFieldName) is left out rather than losing the whole entry.
    std::vector<std::string> entry(LogLevel level, std::string_view message,
                                   std::initializer_list<LogField> fields) const;

private:
    LogLevel minimum_;
    std::string identifier_;
};

/// journald's rule for field names: 1 to 64 of A-Z, 0-9 and '_', not starting with '_' (those
/// are trusted fields the journal sets itself) nor with a digit.
bool isJournalFieldName(std::string_view name);

/// The syslog priority journald files `level` under (PRIORITY=).
int journalPriority(LogLevel level);

/// Whether JOURNAL_STREAM (`DEVICE:INODE`, set by systemd when it connects stdout or stderr to
/// the journal) names the file `device`/`inode`.
bool journalStreamNames(std::string_view journalStream, dev_t device, ino_t inode);

/// Whether this process's stderr is the journal stream systemd connected it to, so the daemon
/// can log to the journal directly, with fields. False when stderr was redirected since
/// (`2>file` in ExecStart, a shell in between) or when not run by systemd.
bool stderrIsJournal();

}  // namespace nexus::sd

// SPDX-License-Identifier: AGPL-3.0-or-later
// nexusctl's human output: aligned label/value rows and tables, sizes and times in words,
// colour only on a terminal and never with NO_COLOR set (https://no-color.org).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nexus::ctl {

enum class Colour { Green, Yellow, Red, Bold };

class Style {
public:
    /// Colour when `stream` is a terminal and NO_COLOR is unset or empty.
    static Style detect(std::FILE* stream);

    std::string paint(std::string_view text, Colour colour) const;

private:
    bool colour_ = false;
};

/// The colour of an agent state: green registered, yellow on its way, red refused or stopped.
Colour stateColour(std::string_view state);

/// "512 B", "1.5 KiB", "3.2 MiB".
std::string formatBytes(std::uint64_t bytes);
/// A point in time (µs since the epoch) as local "2026-01-31 14:05:09 CET", "-" for 0.
std::string formatTime(std::uint64_t epochMicros);
/// A span (µs) in the largest units that matter: "3 s", "4 min 10 s", "2 h 5 min", "3 d 4 h".
std::string formatSpan(std::uint64_t micros);
/// "-" for an empty value.
std::string orDash(const std::string& text);

/// Rows of "Label: value", the values aligned after the longest label.
void printRows(std::FILE* out, const std::vector<std::pair<std::string, std::string>>& rows);

/// A table with a header row (bold on a terminal), each column as wide as its widest cell.
void printTable(std::FILE* out, const Style& style, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

}  // namespace nexus::ctl

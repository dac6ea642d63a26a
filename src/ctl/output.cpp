// SPDX-License-Identifier: AGPL-3.0-or-later
// Style, sizes, times and alignment for nexusctl's human output.
#include "ctl/output.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <ctime>

namespace nexus::ctl {

Style Style::detect(std::FILE* stream) {
    Style style;
    const char* noColor = std::getenv("NO_COLOR");
    style.colour_ = isatty(fileno(stream)) == 1 && (noColor == nullptr || *noColor == '\0');
    return style;
}

std::string Style::paint(std::string_view text, Colour colour) const {
    if (!colour_) {
        return std::string(text);
    }
    static constexpr std::array<const char*, 4> kCodes{"\033[32m", "\033[33m", "\033[31m",
                                                       "\033[1m"};
    return fmt::format("{}{}\033[0m", kCodes[static_cast<std::size_t>(colour)], text);
}

Colour stateColour(std::string_view state) {
    if (state == "registered") {
        return Colour::Green;
    }
    if (state == "rejected" || state == "replaced" || state == "stopped") {
        return Colour::Red;
    }
    return Colour::Yellow;
}

std::string formatBytes(std::uint64_t bytes) {
    static constexpr std::array<const char*, 4> kUnits{"KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        return fmt::format("{} B", bytes);
    }
    auto value = static_cast<double>(bytes) / 1024;
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < kUnits.size()) {
        value /= 1024;
        ++unit;
    }
    return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string formatTime(std::uint64_t epochMicros) {
    if (epochMicros == 0) {
        return "-";
    }
    const auto seconds = static_cast<std::time_t>(epochMicros / 1'000'000);
    std::tm local{};
    localtime_r(&seconds, &local);
    std::array<char, 64> text{};
    const auto length = std::strftime(text.data(), text.size(), "%Y-%m-%d %H:%M:%S %Z", &local);
    return {text.data(), length};
}

std::string formatSpan(std::uint64_t micros) {
    const std::uint64_t s = micros / 1'000'000;
    if (s < 60) {
        return fmt::format("{} s", s);
    }
    if (s < 3600) {
        return fmt::format("{} min {} s", s / 60, s % 60);
    }
    if (s < 86400) {
        return fmt::format("{} h {} min", s / 3600, s % 3600 / 60);
    }
    return fmt::format("{} d {} h", s / 86400, s % 86400 / 3600);
}

std::string orDash(const std::string& text) {
    return text.empty() ? "-" : text;
}

void printRows(std::FILE* out, const std::vector<std::pair<std::string, std::string>>& rows) {
    std::size_t width = 0;
    for (const auto& row : rows) {
        width = std::max(width, row.first.size() + 1);
    }
    for (const auto& [label, value] : rows) {
        fmt::print(out, "{:<{}} {}\n", label + ":", width, value);
    }
}

void printTable(std::FILE* out, const Style& style, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths(header.size());
    for (std::size_t c = 0; c < header.size(); ++c) {
        widths[c] = header[c].size();
        for (const auto& row : rows) {
            widths[c] = std::max(widths[c], row[c].size());
        }
    }
    const auto line = [&widths](const std::vector<std::string>& cells) {
        std::string text;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            text += c + 1 == cells.size() ? cells[c] : fmt::format("{:<{}}  ", cells[c], widths[c]);
        }
        return text;
    };
    fmt::print(out, "{}\n", style.paint(line(header), Colour::Bold));
    for (const auto& row : rows) {
        fmt::print(out, "{}\n", line(row));
    }
}

}  // namespace nexus::ctl

// SPDX-License-Identifier: AGPL-3.0-or-later
// LogLine: a log line built by hand into a buffer on the stack, for the lines written once per
// request (the relay's request line, the agent's "Forwarding …" line).
#pragma once

#include "common/log_escape.hpp"

#include <algorithm>
#include <charconv>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace nexus {

/// Room for a number in a LogLine: the digits of a 64-bit one, or a sign and 19.
inline constexpr std::size_t kMaxLogNumber = 20;

/// The caller sizes `Capacity` for the longest form of its line and cuts each piece to a known
/// length first (or checks that it fits), so no write checks the room left. Only what comes from
/// the network unchecked goes through the escaper (escaped()); what is plain by construction
/// (numbers, the program's own words, tokens a parser checked) is copied as it is. The text is
/// then a line a sink may write without scanning it again (Logger::writeEscaped).
template <std::size_t Capacity>
class LogLine {
public:
    template <std::size_t N>
    void word(const char (&text)[N]) {
        std::memcpy(at_, text, N - 1);  // a length known here: a few moves, no call
        at_ += N - 1;
    }
    void plain(std::string_view text, std::size_t max) {
        const auto n = std::min(text.size(), max);
        std::memcpy(at_, text.data(), n);
        at_ += n;
    }
    /// Takes up to 4 * max bytes: escaping turns a byte into at most four ("\xNN").
    void escaped(std::string_view text, std::size_t max) {
        at_ = writeEscapedForLog(at_, text.substr(0, max));
    }
    void number(std::uint64_t value) {
        if (value < 10) {
            *at_++ = static_cast<char>('0' + value);  // most durations in ms, most bodies in
            return;
        }
        at_ = std::to_chars(at_, at_ + kMaxLogNumber, value).ptr;
    }
    /// A response status: three digits when it is within 100..999 (the decoders and the
    /// daemons' own answers keep it there), else as any number.
    template <std::integral T>
    void status(T value) {
        if (value < 100 || value > 999) {
            at_ = std::to_chars(at_, at_ + kMaxLogNumber, value).ptr;
            return;
        }
        const auto v = static_cast<unsigned>(value);
        at_[0] = static_cast<char>('0' + v / 100);
        at_[1] = static_cast<char>('0' + v / 10 % 10);
        at_[2] = static_cast<char>('0' + v % 10);
        at_ += 3;
    }
    std::string_view text() const { return {data_, static_cast<std::size_t>(at_ - data_)}; }

private:
    char data_[Capacity];
    char* at_ = data_;
};

}  // namespace nexus

// SPDX-License-Identifier: AGPL-3.0-or-later
// Times as the interfaces carry them: microseconds, since the Unix epoch for points in time
// (0 for none), like systemd's own timestamps on the bus.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

namespace nexus::dbus {

using SystemTime = std::chrono::system_clock::time_point;

inline std::uint64_t epochMicroseconds(SystemTime at) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch());
    return static_cast<std::uint64_t>(std::max<std::int64_t>(us.count(), 0));
}

inline std::uint64_t epochMicroseconds(const std::optional<SystemTime>& at) {
    return at ? epochMicroseconds(*at) : 0;
}

/// From now until `at`, 0 when it is past or absent.
inline std::uint64_t microsecondsUntil(const std::optional<SystemTime>& at) {
    if (!at) {
        return 0;
    }
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
        *at - std::chrono::system_clock::now());
    return static_cast<std::uint64_t>(std::max<std::int64_t>(left.count(), 0));
}

}  // namespace nexus::dbus

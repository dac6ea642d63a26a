// SPDX-License-Identifier: AGPL-3.0-or-later
// Which bus a daemon publishes its object on (--bus): the system bus under systemd, the
// session bus for a daemon run by hand, or none.
#pragma once

#include <optional>
#include <string_view>

namespace nexus::dbus {

enum class BusKind { System, Session, Off };

inline std::optional<BusKind> parseBusKind(std::string_view text) {
    if (text == "system") {
        return BusKind::System;
    }
    if (text == "session" || text == "user") {
        return BusKind::Session;
    }
    if (text == "off") {
        return BusKind::Off;
    }
    return std::nullopt;
}

/// "system bus", "session bus": for log lines.
inline std::string_view describe(BusKind kind) {
    return kind == BusKind::System ? "system bus" : "session bus";
}

}  // namespace nexus::dbus

// SPDX-License-Identifier: AGPL-3.0-or-later
// What the relay served since start, as its D-Bus properties show it: counted by the service
// from the relay's events, read by the object's getters.
#pragma once

#include <chrono>
#include <cstdint>

namespace nexus::dbus {

struct ServerTotals {
    std::uint64_t requests = 0, bytesIn = 0, bytesOut = 0;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

}  // namespace nexus::dbus

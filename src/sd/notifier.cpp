// SPDX-License-Identifier: AGPL-3.0-or-later
// Notifier (notifier.hpp).
#include "sd/notifier.hpp"

#include "common/log_escape.hpp"

#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>
#include <ctime>

namespace nexus::sd {

namespace {

void send(const std::string& state) {
    // Unset environment: no (children keep nothing from us, and a re-executed relay needs it).
    // A failed send is nothing the daemon could act on: systemd will notice by itself.
    (void)sd_notify(0, state.c_str());
}

std::uint64_t monotonicMicroseconds() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000U +
           static_cast<std::uint64_t>(now.tv_nsec) / 1'000U;
}

}  // namespace

bool Notifier::enabled() {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    return socket != nullptr && *socket != '\0';
}

std::string Notifier::statusAssignment(std::string_view line) {
    std::string out = "STATUS=";
    appendEscapedForLog(out, line);
    return out;
}

void Notifier::ready(std::string_view status) {
    if (!enabled()) {
        return;
    }
    send(status.empty() ? std::string("READY=1") : "READY=1\n" + statusAssignment(status));
}

void Notifier::status(std::string_view line) {
    if (enabled()) {
        send(statusAssignment(line));
    }
}

void Notifier::reloading() {
    if (enabled()) {
        send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}", monotonicMicroseconds()));
    }
}

void Notifier::stopping() {
    if (enabled()) {
        send("STOPPING=1");
    }
}

void Notifier::watchdog() {
    if (enabled()) {
        send("WATCHDOG=1");
    }
}

}  // namespace nexus::sd

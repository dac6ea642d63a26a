// SPDX-License-Identifier: AGPL-3.0-or-later
// Tells the service manager how the daemon is doing (sd_notify): started, reloading,
// stopping, and a one-line status that `systemctl status` shows. Every call is a no-op when
// the process was not started by systemd with Type=notify (no NOTIFY_SOCKET).
#pragma once

#include <string>
#include <string_view>

namespace nexus::sd {

class Notifier {
public:
    /// True when NOTIFY_SOCKET is set, i.e. someone listens.
    static bool enabled();

    /// READY=1, with a status line when `status` is not empty: the listeners are up.
    static void ready(std::string_view status = {});
    /// STATUS=<line>: what `systemctl status` shows under the unit's name.
    static void status(std::string_view line);
    /// RELOADING=1 with MONOTONIC_USEC (systemd 253 checks it, 252 ignores it); follow with
    /// ready() once the configuration is read again, whether or not it could be applied.
    static void reloading();
    /// STOPPING=1: the daemon is draining and will exit.
    static void stopping();
    /// WATCHDOG=1: the event loop is alive (the Watchdog sends it).
    static void watchdog();

    /// The STATUS= assignment for `line`: control characters (a newline would start another
    /// assignment, READY=1 for instance) are escaped, so text from the network cannot forge one.
    static std::string statusAssignment(std::string_view line);
};

}  // namespace nexus::sd

// SPDX-License-Identifier: AGPL-3.0-or-later
// The proxies and the meaning of the bus's errors for someone at a terminal.
#include "ctl/proxies.hpp"

#include "common/dbus_names.hpp"

#include <fmt/format.h>

namespace nexus::ctl {

namespace {
std::string_view unitOf(Daemon daemon) {
    return daemon == Daemon::Client ? "nexus-relay-client" : "nexus-relay-server";
}
std::string_view busOf(bool user) {
    return user ? "session bus" : "system bus";
}
}  // namespace

std::unique_ptr<sdbus::IConnection> connectBus(bool user) {
    try {
        return user ? sdbus::createSessionBusConnection() : sdbus::createSystemBusConnection();
    } catch (const sdbus::Error& e) {
        throw Failure(Exit::NotRunning,
                      fmt::format("cannot connect to the {}: {}", busOf(user), e.getMessage()));
    }
}

void translate(Daemon daemon, bool user, const std::string& action,
               const std::function<void()>& call) {
    try {
        call();
    } catch (const sdbus::Error& e) {
        const auto& name = e.getName();
        if (name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
            name == "org.freedesktop.DBus.Error.NameHasNoOwner" ||
            name == "org.freedesktop.DBus.Error.NoReply") {
            throw Failure(
                Exit::NotRunning,
                fmt::format(
                    "{} is not running (nothing owns {} on the {})", unitOf(daemon),
                    daemon == Daemon::Client ? dbus_names::kClientBus : dbus_names::kServerBus,
                    busOf(user)));
        }
        if (name == "org.freedesktop.DBus.Error.AccessDenied") {
            throw Failure(Exit::AccessDenied,
                          fmt::format("permission denied: {} needs root or membership of the "
                                      "nexus-relay group",
                                      action));
        }
        throw Failure(Exit::Failed, fmt::format("{} failed: {}", action, e.getMessage()));
    }
}

ClientProxy::ClientProxy(sdbus::IConnection& connection)
    : ProxyInterfaces(connection, dbus_names::kClientBus, dbus_names::kClientPath) {
    registerProxy();
}

ClientProxy::~ClientProxy() {
    unregisterProxy();
}

void ClientProxy::onStateChanged(const std::string& state, const std::string& reason) {
    if (listener_) {
        listener_(state, reason);
    }
}

ServerProxy::ServerProxy(sdbus::IConnection& connection)
    : ProxyInterfaces(connection, dbus_names::kServerBus, dbus_names::kServerPath) {
    registerProxy();
}

ServerProxy::~ServerProxy() {
    unregisterProxy();
}

}  // namespace nexus::ctl

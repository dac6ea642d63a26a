// SPDX-License-Identifier: AGPL-3.0-or-later
// nexusctl's way into the daemons: the generated proxies on one bus connection, and the bus's
// failures as one line and an exit code each (the man page lists the codes).
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include "relay1_client_proxy.h"
#include "relay1_server_proxy.h"

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

namespace nexus::ctl {

/// nexusctl's exit codes (man/nexusctl.1, EXIT STATUS).
enum class Exit : int {
    Ok = 0,
    Failed = 1,        ///< the daemon refused or failed the request
    Usage = 2,         ///< the command line is wrong
    NotRunning = 3,    ///< no bus, or no daemon on it
    AccessDenied = 4,  ///< the bus's policy refused the call; setup cannot write its files
    Unreachable = 5,   ///< setup: the relay or the directory did not answer
};

/// A failure to tell the user in one line, with the exit code that goes with it.
struct Failure : std::runtime_error {
    Failure(Exit code, const std::string& line) : std::runtime_error(line), code(code) {}
    Exit code;
};

enum class Daemon { Client, Server };

/// The bus connection: the session bus with --user, else the system bus.
std::unique_ptr<sdbus::IConnection> connectBus(bool user);

/// Runs `call`, turning a D-Bus error into a Failure that says what it means for `daemon`
/// ("nexus-relay-client is not running", "permission denied: ... root or nexus-relay").
void translate(Daemon daemon, bool user, const std::string& action,
               const std::function<void()>& call);

using Properties = std::map<std::string, sdbus::Variant>;

class ClientProxy final
    : public sdbus::ProxyInterfaces<app::nexusnode::Relay1::Client_proxy, sdbus::Properties_proxy> {
public:
    using StateListener = std::function<void(const std::string&, const std::string&)>;

    explicit ClientProxy(sdbus::IConnection& connection);
    ~ClientProxy();

    Properties all() { return GetAll(app::nexusnode::Relay1::Client_proxy::INTERFACE_NAME); }
    void onState(StateListener listener) { listener_ = std::move(listener); }

private:
    void onStateChanged(const std::string& state, const std::string& reason) override;
    void onPropertiesChanged(const std::string&, const Properties&,
                             const std::vector<std::string>&) override {}

    StateListener listener_;
};

class ServerProxy final
    : public sdbus::ProxyInterfaces<app::nexusnode::Relay1::Server_proxy, sdbus::Properties_proxy> {
public:
    explicit ServerProxy(sdbus::IConnection& connection);
    ~ServerProxy();

    Properties all() { return GetAll(app::nexusnode::Relay1::Server_proxy::INTERFACE_NAME); }

private:
    void onTunnelConnected(const std::string&, const std::string&, const std::string&,
                           const std::string&, const bool&) override {}
    void onTunnelDisconnected(const std::string&, const std::string&) override {}
    void onPropertiesChanged(const std::string&, const Properties&,
                             const std::vector<std::string>&) override {}
};

}  // namespace nexus::ctl

// SPDX-License-Identifier: AGPL-3.0-or-later
// The relay on D-Bus: its object on app.nexusnode.Relay1.Server, kept across losses of the
// bus; an observer of the relay's events, which become TunnelConnected, TunnelDisconnected
// and PropertiesChanged (the counters at most once a second).
#pragma once

#include "common/error.hpp"
#include "common/log.hpp"
#include "dbus/bus_kind.hpp"
#include "dbus/bus_link.hpp"
#include "dbus/server_totals.hpp"
#include "server/relay_events.hpp"
#include "server/relay_server.hpp"

#include <boost/asio/steady_timer.hpp>

#include <memory>

namespace nexus::dbus {

class ServerObject;

class ServerService final : public server::RelayObserver {
public:
    ServerService(boost::asio::any_io_executor executor, server::RelayServer& relay, BusKind kind,
                  Logger& log);
    ~ServerService() override;

    void start();
    void stop();

    void tunnelEvent(const server::TunnelEvent& event) override;
    void requestServed(const server::RequestServed& event) override;
    void authFailure(const server::AuthFailure&) override {}

    static constexpr std::chrono::seconds kCounterPeriod{1};

private:
    void attach(sdbus::IConnection& connection);
    void detach();
    void tick();

    boost::asio::any_io_executor executor_;
    server::RelayServer& relay_;
    ServerTotals totals_;
    ServerTotals sent_;
    std::shared_ptr<ServerObject> object_;
    boost::asio::steady_timer ticker_;
    BusLink link_;
};

}  // namespace nexus::dbus

// SPDX-License-Identifier: AGPL-3.0-or-later
// The agent on D-Bus: its object on app.nexusnode.Relay1.Client, kept across losses of the
// bus, PropertiesChanged and StateChanged from the status board, the counters at most once
// a second (a request never costs a signal of its own).
#pragma once

#include "client/agent.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "dbus/bus_kind.hpp"
#include "dbus/bus_link.hpp"

#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>

namespace nexus::dbus {

class ClientObject;
struct ClientProperties;

class ClientService {
public:
    /// `store` keeps a slug and token the relay accepted through SetSlug for the next start.
    ClientService(boost::asio::any_io_executor executor, client::Agent& agent, BusKind kind,
                  Logger& log,
                  std::function<std::string(const std::string&, const std::string&)> store);
    ~ClientService();

    void start();
    void stop();

    /// How often the counters are compared with what was last sent.
    static constexpr std::chrono::seconds kCounterPeriod{1};

private:
    void attach(sdbus::IConnection& connection);
    void detach();
    void changed(const client::AgentStatus& status, client::AgentChange change);
    void publishCounters();
    void tick();

    client::Agent& agent_;
    std::function<std::string(const std::string&, const std::string&)> store_;
    std::shared_ptr<ClientObject> object_;
    std::unique_ptr<ClientProperties> sent_;
    boost::asio::steady_timer ticker_;
    BusLink link_;
};

}  // namespace nexus::dbus

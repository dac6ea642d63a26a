// SPDX-License-Identifier: AGPL-3.0-or-later
// The relay's object on one bus connection: the generated adaptor's getters and methods in
// terms of RelayServer and the service's counters. RevokeSlug answers when the directory has;
// its pending answers belong to this object, so they go with the connection they came on.
#pragma once

#include "dbus/pending_replies.hpp"
#include "dbus/server_totals.hpp"
#include "server/relay_server.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include "relay1_server_adaptor.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nexus::dbus {

class ServerObject final : public sdbus::AdaptorInterfaces<app::nexusnode::Relay1::Server_adaptor>,
                           public std::enable_shared_from_this<ServerObject> {
public:
    ServerObject(sdbus::IConnection& connection, boost::asio::any_io_executor executor,
                 server::RelayServer& relay, const ServerTotals& totals);
    ~ServerObject();

    void emitPropertiesChanged(const std::vector<std::string>& names);

private:
    using TunnelEntry = sdbus::Struct<std::string, std::string, std::string, std::string, bool,
                                      uint64_t, uint64_t, uint64_t, uint64_t>;

    std::vector<TunnelEntry> ListTunnels() override;
    void DisconnectTunnel(const std::string& slug) override;
    void RevokeSlug(sdbus::Result<>&& result, std::string slug) override;
    uint32_t TunnelCount() override;
    uint64_t Requests() override;
    uint64_t BytesIn() override;
    uint64_t BytesOut() override;
    uint64_t Uptime() override;
    std::string Version() override;

    void revoked(std::uint64_t call, const std::string& slug, const Result<void>& outcome);

    boost::asio::any_io_executor executor_;
    server::RelayServer& relay_;
    const ServerTotals& totals_;
    PendingReplies<sdbus::Result<>> pending_;
};

}  // namespace nexus::dbus

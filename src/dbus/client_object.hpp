// SPDX-License-Identifier: AGPL-3.0-or-later
// The agent's object on one bus connection: the generated adaptor's getters read the
// agent's status board, Reconnect() and SetSlug() call the agent. Translation only; the
// service decides when to signal. SetSlug answers once the relay has; its pending answers
// belong to this object, so they go with the connection they came on.
#pragma once

#include "client/agent.hpp"
#include "dbus/pending_replies.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include "relay1_client_adaptor.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace nexus::dbus {

/// The values of the properties that go out in PropertiesChanged, as last sent: the service
/// compares them with the board's to signal only what changed.
struct ClientProperties {
    std::string state, slug, server, door, lastError;
    std::uint32_t protocolVersion = 0;
    bool encrypted = false;
    std::uint64_t connectedSince = 0;
    std::uint64_t requestsForwarded = 0, bytesIn = 0, bytesOut = 0, activeStreams = 0;

    static ClientProperties of(const client::AgentStatus& status);
    /// The names of the state (not counter) properties that differ.
    std::vector<std::string> stateChanges(const ClientProperties& before) const;
    /// The names of the counters that differ.
    std::vector<std::string> counterChanges(const ClientProperties& before) const;
};

/// Stores a slug and token the relay accepted for the agent's next start; returns, in a
/// sentence, where they went when not where the agent read them, or what it could not store;
/// an empty string when the agent's own files hold them.
using SlugStore = std::function<std::string(const std::string& slug, const std::string& token)>;

class ClientObject final : public sdbus::AdaptorInterfaces<app::nexusnode::Relay1::Client_adaptor>,
                           public std::enable_shared_from_this<ClientObject> {
public:
    ClientObject(sdbus::IConnection& connection, client::Agent& agent, SlugStore store);
    ~ClientObject();

    void emitPropertiesChanged(const std::vector<std::string>& names);

private:
    void Reconnect() override;
    void SetSlug(sdbus::Result<std::string>&& result, std::string slug, std::string token) override;
    std::string State() override;
    std::string Slug() override;
    std::string Server() override;
    std::string Door() override;
    uint32_t ProtocolVersion() override;
    bool Encrypted() override;
    uint64_t ConnectedSince() override;
    std::string LastError() override;
    uint64_t NextRetryIn() override;
    uint64_t RequestsForwarded() override;
    uint64_t BytesIn() override;
    uint64_t BytesOut() override;
    uint64_t ActiveStreams() override;

    void slugTried(std::uint64_t call, const std::string& slug, const client::SlugTrial& trial,
                   const std::string& note);

    client::Agent& agent_;
    SlugStore store_;
    PendingReplies<sdbus::Result<std::string>> pending_;
};

}  // namespace nexus::dbus

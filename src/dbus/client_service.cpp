// SPDX-License-Identifier: AGPL-3.0-or-later
// ClientService: the board's changes as signals on whatever connection is up.
#include "dbus/client_service.hpp"

#include "common/dbus_names.hpp"
#include "dbus/client_object.hpp"

namespace nexus::dbus {

namespace {
// Why the agent is in `status.state`, for StateChanged: the failure that put it there.
std::string reasonFor(const client::AgentStatus& status) {
    switch (status.state) {
        case client::AgentState::Backoff:
        case client::AgentState::Rejected:
        case client::AgentState::Replaced: return status.lastError;
        default: return {};
    }
}
}  // namespace

ClientService::ClientService(
    boost::asio::any_io_executor executor, client::Agent& agent, BusKind kind, Logger& log,
    std::function<std::string(const std::string&, const std::string&)> store)
    : agent_(agent),
      store_(std::move(store)),
      ticker_(executor),
      link_(
          executor, kind, dbus_names::kClientBus, log,
          [this](sdbus::IConnection& connection) { attach(connection); }, [this] { detach(); }) {
    // The board has no unsubscribe: the service lives as long as the agent.
    agent_.board().subscribe([this](const client::AgentStatus& status, client::AgentChange change) {
        changed(status, change);
    });
}

ClientService::~ClientService() {
    stop();
}

void ClientService::start() {
    link_.start();
}

void ClientService::stop() {
    link_.stop();
}

void ClientService::attach(sdbus::IConnection& connection) {
    object_ = std::make_shared<ClientObject>(connection, agent_, store_);
    sent_ = std::make_unique<ClientProperties>(ClientProperties::of(agent_.status()));
    tick();
}

void ClientService::detach() {
    ticker_.cancel();
    object_.reset();
}

void ClientService::changed(const client::AgentStatus& status, client::AgentChange change) {
    if (!object_ || change != client::AgentChange::State) {
        return;  // counters go out with the ticker
    }
    auto now = ClientProperties::of(status);
    const auto names = now.stateChanges(*sent_);
    const bool newState = now.state != sent_->state;
    // Counters keep their own pace: only the state properties are taken as sent.
    now.requestsForwarded = sent_->requestsForwarded;
    now.bytesIn = sent_->bytesIn;
    now.bytesOut = sent_->bytesOut;
    now.activeStreams = sent_->activeStreams;
    *sent_ = std::move(now);
    try {
        if (!names.empty()) {
            object_->emitPropertiesChanged(names);
        }
        if (newState) {
            object_->emitStateChanged(sent_->state, reasonFor(status));
        }
    } catch (const sdbus::Error&) {
        // The connection is failing: its processing notices and reopens it.
    }
    link_.wake();
}

void ClientService::publishCounters() {
    const auto now = ClientProperties::of(agent_.status());
    const auto names = now.counterChanges(*sent_);
    if (names.empty()) {
        return;
    }
    sent_->requestsForwarded = now.requestsForwarded;
    sent_->bytesIn = now.bytesIn;
    sent_->bytesOut = now.bytesOut;
    sent_->activeStreams = now.activeStreams;
    try {
        object_->emitPropertiesChanged(names);
    } catch (const sdbus::Error&) {
        // As above: the link reopens a failing connection.
    }
    link_.wake();
}

void ClientService::tick() {
    ticker_.expires_after(kCounterPeriod);
    ticker_.async_wait([this](const ErrorCode& ec) {
        if (ec || !object_) {
            return;
        }
        publishCounters();
        tick();
    });
}

}  // namespace nexus::dbus

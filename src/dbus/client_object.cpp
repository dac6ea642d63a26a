// SPDX-License-Identifier: AGPL-3.0-or-later
// ClientObject: the agent's status as D-Bus properties.
#include "dbus/client_object.hpp"

#include "common/dbus_names.hpp"
#include "dbus/time_values.hpp"
#include "directory/directory.hpp"

namespace nexus::dbus {

namespace {
// The session's start while it is registered only: the board keeps it through the backoff
// that follows, for its own log lines.
std::uint64_t registeredSince(const client::AgentStatus& status) {
    return status.state == client::AgentState::Registered ? epochMicroseconds(status.connectedSince)
                                                          : 0;
}

// The relay's answer to a change of slug as a D-Bus error whose name says why.
sdbus::Error errorFor(const client::SlugTrial& trial, const std::string& slug) {
    using Outcome = client::SlugTrial::Outcome;
    switch (trial.outcome) {
        case Outcome::Refused:
            return {dbus_names::kTokenRefused,
                    "the relay refused slug '" + slug + "' with this token: " + trial.reason};
        case Outcome::Taken:
            return {dbus_names::kSlugTaken,
                    "another agent serves slug '" + slug + "' now (" + trial.reason + ")"};
        default: return {dbus_names::kFailed, "slug '" + slug + "' not tried: " + trial.reason};
    }
}

void noteIf(std::vector<std::string>& names, bool differs, const char* name) {
    if (differs) {
        names.emplace_back(name);
    }
}
}  // namespace

ClientProperties ClientProperties::of(const client::AgentStatus& status) {
    ClientProperties p;
    p.state = client::stateName(status.state);
    p.slug = status.slug;
    p.server = status.server;
    p.door = status.door;
    p.lastError = status.lastError;
    p.protocolVersion = static_cast<std::uint32_t>(status.protocol);
    p.encrypted = status.encrypted;
    p.connectedSince = registeredSince(status);
    p.requestsForwarded = status.counters.requests();
    p.bytesIn = status.counters.bytesIn;
    p.bytesOut = status.counters.bytesOut;
    p.activeStreams = status.counters.activeStreams;
    return p;
}

std::vector<std::string> ClientProperties::stateChanges(const ClientProperties& before) const {
    std::vector<std::string> names;
    const auto check = [&names](bool differs, const char* name) { noteIf(names, differs, name); };
    check(state != before.state, "State");
    check(slug != before.slug, "Slug");
    check(server != before.server, "Server");
    check(door != before.door, "Door");
    check(protocolVersion != before.protocolVersion, "ProtocolVersion");
    check(encrypted != before.encrypted, "Encrypted");
    check(connectedSince != before.connectedSince, "ConnectedSince");
    check(lastError != before.lastError, "LastError");
    return names;
}

std::vector<std::string> ClientProperties::counterChanges(const ClientProperties& before) const {
    std::vector<std::string> names;
    const auto check = [&names](bool differs, const char* name) { noteIf(names, differs, name); };
    check(requestsForwarded != before.requestsForwarded, "RequestsForwarded");
    check(bytesIn != before.bytesIn, "BytesIn");
    check(bytesOut != before.bytesOut, "BytesOut");
    check(activeStreams != before.activeStreams, "ActiveStreams");
    return names;
}

ClientObject::ClientObject(sdbus::IConnection& connection, client::Agent& agent, SlugStore store)
    : AdaptorInterfaces(connection, dbus_names::kClientPath),
      agent_(agent),
      store_(std::move(store)) {
    registerAdaptor();
}

ClientObject::~ClientObject() {
    unregisterAdaptor();
}

void ClientObject::emitPropertiesChanged(const std::vector<std::string>& names) {
    getObject().emitPropertiesChangedSignal(INTERFACE_NAME, names);
}

void ClientObject::Reconnect() {
    agent_.reconnect();
}

void ClientObject::SetSlug(sdbus::Result<std::string>&& result, std::string slug,
                           std::string token) {
    if (!directory::isValidSlug(slug)) {
        result.returnError({dbus_names::kInvalidSlug,
                            "'" + slug + "': " + makeError(Errc::InvalidSlug).message()});
        return;
    }
    if (token.empty()) {
        result.returnError(sdbus::Error(dbus_names::kInvalidArgs, "the token is empty"));
        return;
    }
    const auto call = pending_.add(std::move(result));
    // Stored whether or not the caller (or this object, with its connection) is still there:
    // the agent already runs with the new slug.
    auto done = [self = weak_from_this(), store = store_, call, slug,
                 token](const client::SlugTrial& trial) {
        const bool accepted = trial.outcome == client::SlugTrial::Outcome::Accepted;
        const auto note = accepted ? store(slug, token) : std::string();
        if (const auto object = self.lock()) {
            object->slugTried(call, slug, trial, note);
        }
    };
    agent_.trySlug(slug, std::move(token), std::move(done));
}

void ClientObject::slugTried(std::uint64_t call, const std::string& slug,
                             const client::SlugTrial& trial, const std::string& note) {
    pending_.answer(call, [&](const sdbus::Result<std::string>& result) {
        if (trial.outcome == client::SlugTrial::Outcome::Accepted) {
            result.returnResults(note);
        } else {
            result.returnError(errorFor(trial, slug));
        }
    });
}

std::string ClientObject::State() {
    return std::string(client::stateName(agent_.status().state));
}
std::string ClientObject::Slug() {
    return agent_.status().slug;
}
std::string ClientObject::Server() {
    return agent_.status().server;
}
std::string ClientObject::Door() {
    return agent_.status().door;
}
uint32_t ClientObject::ProtocolVersion() {
    return static_cast<uint32_t>(agent_.status().protocol);
}
bool ClientObject::Encrypted() {
    return agent_.status().encrypted;
}
uint64_t ClientObject::ConnectedSince() {
    return registeredSince(agent_.status());
}
std::string ClientObject::LastError() {
    return agent_.status().lastError;
}
uint64_t ClientObject::NextRetryIn() {
    return microsecondsUntil(agent_.status().nextRetry);
}
uint64_t ClientObject::RequestsForwarded() {
    return agent_.status().counters.requests();
}
uint64_t ClientObject::BytesIn() {
    return agent_.status().counters.bytesIn;
}
uint64_t ClientObject::BytesOut() {
    return agent_.status().counters.bytesOut;
}
uint64_t ClientObject::ActiveStreams() {
    return agent_.status().counters.activeStreams;
}

}  // namespace nexus::dbus

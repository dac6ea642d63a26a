// SPDX-License-Identifier: AGPL-3.0-or-later
// ServerObject: the relay's tunnels and totals as D-Bus methods and properties.
#include "dbus/server_object.hpp"

#include "common/dbus_names.hpp"
#include "dbus/time_values.hpp"
#include "net/spawn.hpp"
#include "nexus_config.hpp"

#include <boost/asio/co_spawn.hpp>

namespace nexus::dbus {

namespace {
// The directory's refusal as a D-Bus error whose name says why.
sdbus::Error errorFor(const ErrorCode& error, const std::string& slug) {
    if (error == Errc::NoSuchTunnel) {
        return {dbus_names::kNoSuchTunnel, "no tunnel is connected for slug '" + slug + "'"};
    }
    if (error == Errc::SlugNotFound) {
        return {dbus_names::kSlugNotFound, "the directory has no slug '" + slug + "'"};
    }
    if (error == Errc::DirectoryUnavailable || error == Errc::Timeout) {
        return sdbus::Error(dbus_names::kDirectoryUnavailable, "the directory does not answer");
    }
    return {dbus_names::kFailed, error.message()};
}
}  // namespace

ServerObject::ServerObject(sdbus::IConnection& connection, boost::asio::any_io_executor executor,
                           server::RelayServer& relay, const ServerTotals& totals)
    : AdaptorInterfaces(connection, dbus_names::kServerPath),
      executor_(std::move(executor)),
      relay_(relay),
      totals_(totals) {
    registerAdaptor();
}

ServerObject::~ServerObject() {
    unregisterAdaptor();
}

void ServerObject::emitPropertiesChanged(const std::vector<std::string>& names) {
    getObject().emitPropertiesChangedSignal(INTERFACE_NAME, names);
}

std::vector<ServerObject::TunnelEntry> ServerObject::ListTunnels() {
    std::vector<TunnelEntry> entries;
    for (const auto& tunnel : relay_.tunnels()) {
        const auto& info = tunnel.info;
        entries.emplace_back(info.slug, info.address, info.door, info.protocol, info.encrypted,
                             epochMicroseconds(info.since), tunnel.counters.requests(),
                             tunnel.counters.bytesIn, tunnel.counters.bytesOut);
    }
    return entries;
}

void ServerObject::DisconnectTunnel(const std::string& slug) {
    if (auto done = relay_.disconnect(slug); !done) {
        throw errorFor(done.error(), slug);
    }
}

void ServerObject::RevokeSlug(sdbus::Result<>&& result, std::string slug) {
    const auto call = pending_.add(std::move(result));
    std::weak_ptr<ServerObject> self = weak_from_this();
    auto revoke = [](server::RelayServer& relay, std::string slug, std::weak_ptr<ServerObject> self,
                     std::uint64_t call) -> boost::asio::awaitable<void> {
        const auto outcome = co_await relay.revoke(slug);
        // The connection (and this object with it) may have gone while the directory worked.
        if (const auto object = self.lock()) {
            object->revoked(call, slug, outcome);
        }
    };
    boost::asio::co_spawn(executor_, revoke(relay_, slug, self, call),
                          net::reportFailures("a RevokeSlug call"));
}

void ServerObject::revoked(std::uint64_t call, const std::string& slug,
                           const Result<void>& outcome) {
    pending_.answer(call, [&](const sdbus::Result<>& result) {
        if (outcome) {
            result.returnResults();
        } else {
            result.returnError(errorFor(outcome.error(), slug));
        }
    });
}

uint32_t ServerObject::TunnelCount() {
    return static_cast<uint32_t>(relay_.tunnelCount());
}
uint64_t ServerObject::Requests() {
    return totals_.requests;
}
uint64_t ServerObject::BytesIn() {
    return totals_.bytesIn;
}
uint64_t ServerObject::BytesOut() {
    return totals_.bytesOut;
}
uint64_t ServerObject::Uptime() {
    const auto up = std::chrono::steady_clock::now() - totals_.started;
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(up).count());
}
std::string ServerObject::Version() {
    return NEXUS_VERSION;
}

}  // namespace nexus::dbus

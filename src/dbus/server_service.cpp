// SPDX-License-Identifier: AGPL-3.0-or-later
// ServerService: the relay's events as signals on whatever connection is up.
#include "dbus/server_service.hpp"

#include "common/dbus_names.hpp"
#include "dbus/server_object.hpp"

namespace nexus::dbus {

using server::TunnelEvent;

ServerService::ServerService(boost::asio::any_io_executor executor, server::RelayServer& relay,
                             BusKind kind, Logger& log)
    : executor_(executor),
      relay_(relay),
      ticker_(executor),
      link_(
          executor, kind, dbus_names::kServerBus, log,
          [this](sdbus::IConnection& connection) { attach(connection); }, [this] { detach(); }) {}

ServerService::~ServerService() {
    stop();
}

void ServerService::start() {
    link_.start();
}

void ServerService::stop() {
    link_.stop();
}

void ServerService::attach(sdbus::IConnection& connection) {
    object_ = std::make_shared<ServerObject>(connection, executor_, relay_, totals_);
    sent_ = totals_;
    tick();
}

void ServerService::detach() {
    ticker_.cancel();
    object_.reset();
}

void ServerService::tunnelEvent(const TunnelEvent& event) {
    if (!object_) {
        return;
    }
    const auto& info = event.info;
    try {
        switch (event.kind) {
            case TunnelEvent::Kind::Registered:
            case TunnelEvent::Kind::Replaced:
                object_->emitTunnelConnected(info.slug, info.address, info.door, info.protocol,
                                             info.encrypted);
                break;
            case TunnelEvent::Kind::Revoked:
                object_->emitTunnelDisconnected(info.slug, "revoked");
                break;
            case TunnelEvent::Kind::Disconnected:
                object_->emitTunnelDisconnected(info.slug, "disconnected by the operator");
                break;
            case TunnelEvent::Kind::Gone:
                // A session a newer one replaced: that one's TunnelConnected said it all.
                if (!event.slugKept) {
                    object_->emitTunnelDisconnected(info.slug, event.reason);
                }
                break;
        }
        object_->emitPropertiesChanged({"TunnelCount"});
    } catch (const sdbus::Error&) {
        // The connection is failing: its processing notices and reopens it.
    }
    link_.wake();
}

void ServerService::requestServed(const server::RequestServed& event) {
    ++totals_.requests;
    totals_.bytesIn += event.record.bytesIn;
    totals_.bytesOut += event.record.bytesOut;
}

void ServerService::tick() {
    ticker_.expires_after(kCounterPeriod);
    ticker_.async_wait([this](const ErrorCode& ec) {
        if (ec || !object_) {
            return;
        }
        std::vector<std::string> names;
        if (totals_.requests != sent_.requests) {
            names.emplace_back("Requests");
        }
        if (totals_.bytesIn != sent_.bytesIn) {
            names.emplace_back("BytesIn");
        }
        if (totals_.bytesOut != sent_.bytesOut) {
            names.emplace_back("BytesOut");
        }
        if (!names.empty()) {
            sent_ = totals_;
            try {
                object_->emitPropertiesChanged(names);
            } catch (const sdbus::Error&) {
                // As above.
            }
            link_.wake();
        }
        tick();
    });
}

}  // namespace nexus::dbus

// SPDX-License-Identifier: AGPL-3.0-or-later
// What happens on the relay, as data: tunnels registered, replaced, gone, revoked; each visitor
// request served; each failed login. The server library emits these and never decides what
// they become: the daemon layer turns them into log lines (and journald fields), the status
// page into counters and histograms, the D-Bus layer into signals.
#pragma once

#include "server/tunnel.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nexus::server {

/// One visitor request, filled in as it is answered.
struct RequestRecord {
    using Clock = std::chrono::steady_clock;

    std::string id;  ///< X-Request-Id: the trusted proxy's, or the relay's own
    std::string method;
    std::string path;            ///< without the query string: it may carry secrets
    int status = 0;              ///< 0 until a response head went out
    std::uint64_t bytesIn = 0;   ///< request body bytes from the visitor
    std::uint64_t bytesOut = 0;  ///< response body bytes to the visitor
    Clock::time_point started;
    Clock::time_point firstByte;  ///< when the response head went out
};

struct RequestServed {
    const TunnelInfo* tunnel;  ///< null when no tunnel answered (fallback, bad request)
    std::string_view slug;
    const RequestRecord& record;
    std::string_view visitor;  ///< the visitor's address as the front believes it
    std::chrono::steady_clock::duration duration;
};

struct TunnelEvent {
    enum class Kind { Registered, Replaced, Gone, Revoked, Disconnected };
    Kind kind;
    const TunnelInfo& info;
    std::string reason;        ///< why it went (Gone, Disconnected)
    std::string previousPeer;  ///< the session it replaced (Replaced)
};

struct AuthFailure {
    std::string address;
    std::string slug;  ///< as sent: log sinks escape what they print
    bool rateLimited = false;
};

class RelayObserver {
public:
    virtual ~RelayObserver() = default;
    virtual void tunnelEvent(const TunnelEvent& event) = 0;
    virtual void requestServed(const RequestServed& event) = 0;
    virtual void authFailure(const AuthFailure& event) = 0;
};

/// Hands each event to every observer, in the order they were added.
class RelayEvents final : public RelayObserver {
public:
    void add(RelayObserver& observer) { observers_.push_back(&observer); }

    void tunnelEvent(const TunnelEvent& event) override {
        for (auto* o : observers_) {
            o->tunnelEvent(event);
        }
    }
    void requestServed(const RequestServed& event) override {
        for (auto* o : observers_) {
            o->requestServed(event);
        }
    }
    void authFailure(const AuthFailure& event) override {
        for (auto* o : observers_) {
            o->authFailure(event);
        }
    }

private:
    std::vector<RelayObserver*> observers_;
};

}  // namespace nexus::server

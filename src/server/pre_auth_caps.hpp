// SPDX-License-Identifier: AGPL-3.0-or-later
// The caps on connections that have not registered yet: a few per caller (IPv4 address or
// IPv6 /64, see address_prefix.hpp) and a total. When the total is reached, the newcomer is
// not refused: the oldest connection of the caller holding the most is evicted instead. A
// real agent's caller holds one or two such connections for the few milliseconds its
// registration takes, so it is never the one evicted while an attacker holds more; the total
// cannot be filled against it by a few callers.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>

namespace nexus::server {

class PreAuthCaps {
public:
    struct Limits {
        std::size_t total = 512;     ///< unregistered connections in all
        std::size_t perCaller = 16;  ///< ... from one IPv4 address or IPv6 /64
    };

    /// Holds one connection's place until destroyed or evicted.
    class Slot {
    public:
        ~Slot();
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;

        /// What eviction does to this connection from now on (cancel a wait, close a socket).
        /// Called at most once, on the event loop, from another connection's admit().
        void onEvict(std::function<void()> evict);
        /// Gives the place back early (the connection registered).
        void release();

    private:
        friend class PreAuthCaps;
        struct Entry {
            std::uint64_t serial = 0;  ///< admission order: lower is older
            Slot* slot = nullptr;
            std::function<void()> evict;
        };
        Slot(PreAuthCaps& owner, std::string key, std::list<Entry>::iterator entry)
            : owner_(&owner), key_(std::move(key)), entry_(entry) {}

        PreAuthCaps* owner_;
        std::string key_;
        std::list<Entry>::iterator entry_;
    };

    PreAuthCaps() : PreAuthCaps(Limits{}) {}
    explicit PreAuthCaps(Limits limits) : limits_(limits) {}

    /// A place for a new connection from `ip`; null if its caller is at its own cap. At the
    /// total, evicts one connection first (see the header comment).
    std::unique_ptr<Slot> admit(const boost::asio::ip::address& ip);

    std::size_t size() const { return size_; }
    std::size_t callerCount(const boost::asio::ip::address& ip) const;

private:
    using Group = std::list<Slot::Entry>;

    void evictOne();
    void remove(Slot& slot);

    Limits limits_;
    std::map<std::string, Group> groups_;
    std::size_t size_ = 0;
    std::uint64_t nextSerial_ = 0;
};

}  // namespace nexus::server

// SPDX-License-Identifier: AGPL-3.0-or-later
// PreAuthCaps: groups of admitted connections by caller, oldest first in each group.
#include "server/pre_auth_caps.hpp"

#include "server/address_prefix.hpp"

namespace nexus::server {

PreAuthCaps::Slot::~Slot() {
    release();
}

void PreAuthCaps::Slot::onEvict(std::function<void()> evict) {
    if (owner_ != nullptr) {
        entry_->evict = std::move(evict);
    }
}

void PreAuthCaps::Slot::release() {
    if (owner_ != nullptr) {
        owner_->remove(*this);
    }
}

void PreAuthCaps::remove(Slot& slot) {
    const auto group = groups_.find(slot.key_);
    group->second.erase(slot.entry_);
    if (group->second.empty()) {
        groups_.erase(group);
    }
    --size_;
    slot.owner_ = nullptr;
}

std::size_t PreAuthCaps::callerCount(const boost::asio::ip::address& ip) const {
    const auto it = groups_.find(callerKey(ip));
    return it == groups_.end() ? 0 : it->second.size();
}

std::unique_ptr<PreAuthCaps::Slot> PreAuthCaps::admit(const boost::asio::ip::address& ip) {
    std::string key = callerKey(ip);
    if (const auto it = groups_.find(key);
        it != groups_.end() && it->second.size() >= limits_.perCaller) {
        return nullptr;
    }
    while (size_ >= limits_.total && size_ > 0) {
        evictOne();
    }
    auto& group = groups_[key];
    const auto entry = group.insert(group.end(), Slot::Entry{nextSerial_++, nullptr, {}});
    ++size_;
    std::unique_ptr<Slot> slot(new Slot(*this, std::move(key), entry));
    entry->slot = slot.get();
    return slot;
}

// The largest group loses its oldest connection; between groups of one size, the one whose
// oldest connection is oldest.
void PreAuthCaps::evictOne() {
    auto victim = groups_.begin();
    for (auto it = groups_.begin(); it != groups_.end(); ++it) {
        const auto size = it->second.size();
        const auto victimSize = victim->second.size();
        if (size > victimSize ||
            (size == victimSize && it->second.front().serial < victim->second.front().serial)) {
            victim = it;
        }
    }
    auto& group = victim->second;
    std::function<void()> evict = std::move(group.front().evict);
    group.front().slot->owner_ = nullptr;  // its own release now does nothing
    group.pop_front();
    if (group.empty()) {
        groups_.erase(victim);
    }
    --size_;
    if (evict) {
        evict();
    }
}

}  // namespace nexus::server

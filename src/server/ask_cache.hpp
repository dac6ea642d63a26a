// SPDX-License-Identifier: AGPL-3.0-or-later
// What the directory last said about slugs that Caddy asked a certificate for, and how many
// directory lookups the ask endpoint may still make: a scanner sending TLS handshakes for
// random names must not turn each into a database query.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

namespace nexus::server {

class AskCache {
public:
    using Clock = std::chrono::steady_clock;

    static constexpr std::chrono::seconds kActiveFor{300};  ///< a yes is kept this long
    static constexpr std::chrono::seconds kUnknownFor{30};  ///< a no, shorter: it may register
    static constexpr std::size_t kMaxEntries = 4096;
    static constexpr int kMaxLookupsPerSecond = 20;  ///< directory queries on a cache miss
    static constexpr int kMaxLookupsInFlight = 4;

    /// The remembered answer for `slug`, if still fresh.
    std::optional<bool> find(const std::string& slug, Clock::time_point now) const {
        const auto found = entries_.find(slug);
        if (found == entries_.end() || found->second.until <= now) {
            return std::nullopt;
        }
        return found->second.active;
    }

    void store(const std::string& slug, bool active, Clock::time_point now) {
        if (entries_.size() >= kMaxEntries && !entries_.contains(slug)) {
            std::erase_if(entries_, [now](const auto& entry) { return entry.second.until <= now; });
            if (entries_.size() >= kMaxEntries) {
                entries_.clear();  // all fresh: a flood of names; start over rather than grow
            }
        }
        entries_[slug] = Entry{active, now + (active ? kActiveFor : kUnknownFor)};
    }

    /// The registration API changed the slug: the next ask looks again.
    void forget(const std::string& slug) { entries_.erase(slug); }

    /// Whether one more directory lookup may start now; counts it if so. finished() after.
    bool startLookup(Clock::time_point now) {
        if (now - windowStart_ >= std::chrono::seconds(1)) {
            windowStart_ = now;
            lookupsInWindow_ = 0;
        }
        if (lookupsInWindow_ >= kMaxLookupsPerSecond || inFlight_ >= kMaxLookupsInFlight) {
            return false;
        }
        ++lookupsInWindow_;
        ++inFlight_;
        return true;
    }
    void finished() { --inFlight_; }

private:
    struct Entry {
        bool active = false;
        Clock::time_point until;
    };
    std::unordered_map<std::string, Entry> entries_;
    Clock::time_point windowStart_;
    int lookupsInWindow_ = 0;
    int inFlight_ = 0;
};

}  // namespace nexus::server

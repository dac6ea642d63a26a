// SPDX-License-Identifier: AGPL-3.0-or-later
// The answers of asynchronous methods (RevokeSlug, SetSlug) still to be given, by call number.
// They belong to the object of the connection they came on and go with it: work that ends
// after the object is gone finds nothing to answer.
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <cstdint>
#include <map>
#include <utility>

namespace nexus::dbus {

template <typename Result>
class PendingReplies {
public:
    /// Keeps `result` until answer(); returns its call number.
    std::uint64_t add(Result result) {
        const auto call = next_++;
        pending_.emplace(call, std::move(result));
        return call;
    }

    /// Gives call `call`, if still pending, to `reply` (which returns its results or an
    /// error) and forgets it.
    template <typename Reply>
    void answer(std::uint64_t call, Reply&& reply) {
        const auto found = pending_.find(call);
        if (found == pending_.end()) {
            return;
        }
        const Result result = std::move(found->second);
        pending_.erase(found);
        try {
            std::forward<Reply>(reply)(result);
        } catch (const sdbus::Error&) {
            // The caller's connection is failing: nobody is left to answer.
        }
    }

private:
    std::map<std::uint64_t, Result> pending_;
    std::uint64_t next_ = 0;
};

}  // namespace nexus::dbus

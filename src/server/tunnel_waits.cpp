// SPDX-License-Identifier: AGPL-3.0-or-later
// TunnelWaits. Used on the event loop thread only.
#include "server/tunnel_waits.hpp"

#include <algorithm>

namespace nexus::server {

boost::asio::awaitable<std::shared_ptr<Tunnel>> TunnelWaits::wait(
    boost::asio::any_io_executor executor, const std::string& slug,
    std::chrono::steady_clock::duration timeout) {
    auto& waiters = bySlug_[slug];
    if (waiting_ >= total_ || waiters.size() >= perSlug_) {
        if (waiters.empty()) {
            bySlug_.erase(slug);
        }
        co_return nullptr;
    }
    auto waiter = std::make_shared<Waiter>(std::move(executor));
    waiters.push_back(waiter);
    ++waiting_;
    auto tunnel = co_await waiter->wait(timeout);
    forget(slug, waiter.get());
    co_return tunnel ? std::move(*tunnel) : nullptr;
}

void TunnelWaits::arrived(const std::shared_ptr<Tunnel>& tunnel, const std::string& slug) {
    const auto found = bySlug_.find(slug);
    if (found == bySlug_.end()) {
        return;
    }
    // Each waiter removes itself when it resumes, later: the list stays valid meanwhile.
    for (const auto& waiter : found->second) {
        waiter->complete(tunnel);
    }
}

void TunnelWaits::cancelAll() {
    for (const auto& [slug, waiters] : bySlug_) {
        for (const auto& waiter : waiters) {
            waiter->abandon();
        }
    }
}

void TunnelWaits::forget(const std::string& slug, const Waiter* waiter) {
    const auto found = bySlug_.find(slug);
    if (found == bySlug_.end()) {
        return;
    }
    auto& waiters = found->second;
    const auto it = std::find_if(waiters.begin(), waiters.end(),
                                 [waiter](const auto& w) { return w.get() == waiter; });
    if (it != waiters.end()) {
        waiters.erase(it);
        --waiting_;
    }
    if (waiters.empty()) {
        bySlug_.erase(found);
    }
}

}  // namespace nexus::server

// SPDX-License-Identifier: AGPL-3.0-or-later
// Only <linux/tcp.h> has the tcp_info fields this needs (delivery rate, application-limited
// flag); it cannot share a translation unit with <netinet/tcp.h>, which Asio includes.
#include "net/send_queue.hpp"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>

namespace nexus::net {

std::uint32_t SendQueueLimiter::limitFor(std::uint64_t bytesPerSecond) {
    constexpr std::uint64_t kStep = 16 * 1024;
    const std::uint64_t bytes = bytesPerSecond / 1'000'000 * kQueueTimeMicros;
    const std::uint64_t rounded = (bytes + kStep - 1) / kStep * kStep;
    return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(rounded, kMinBytes, kMaxBytes));
}

void SendQueueLimiter::wrote(int fd, std::size_t bulkBytes) {
    if (fd < 0 || bulkBytes == 0) {
        return;
    }
    if (limit_ == 0) {
        apply(fd, kMinBytes);
    }
    sinceRetune_ += bulkBytes;
    if (sinceRetune_ < kRetuneBytes) {
        return;
    }
    sinceRetune_ = 0;
    tcp_info info{};
    socklen_t size = sizeof info;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0 ||
        size < offsetof(tcp_info, tcpi_delivery_rate) + sizeof info.tcpi_delivery_rate) {
        return;
    }
    const std::uint32_t limit = limitFor(info.tcpi_delivery_rate);
    // A sample taken while the sender had nothing to send is only a lower bound of the path's
    // rate: it may raise the limit, never lower it.
    if (info.tcpi_delivery_rate_app_limited != 0 && limit < limit_) {
        return;
    }
    apply(fd, limit);
}

void SendQueueLimiter::apply(int fd, std::uint32_t limit) {
    if (fd < 0 || limit == limit_) {
        return;
    }
    const int value = static_cast<int>(limit);
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &value, sizeof value) == 0) {
        limit_ = limit;
    }
}

}  // namespace nexus::net

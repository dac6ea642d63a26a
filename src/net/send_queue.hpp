// SPDX-License-Identifier: AGPL-3.0-or-later
// Keeps the kernel's queue of unsent tunnel bytes a few milliseconds long, so the frame
// scheduler (control and small frames before bulk) decides what leaves next, not a socket
// buffer holding a megabyte of someone's download.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nexus::net {

/// Sizes TCP_NOTSENT_LOWAT from the connection's measured delivery rate: a socket then
/// reports itself writable only while less than about kQueueTimeMicros of data waits unsent
/// in the kernel. On a 100 Mbit/s home uplink that is 48 KiB instead of the megabyte TCP
/// autotuning allows (80 ms ahead of every chat message); on loopback it grows to the 4 MiB
/// ceiling and costs no throughput.
class SendQueueLimiter {
public:
    static constexpr std::uint32_t kMinBytes = 16 * 1024;
    static constexpr std::uint32_t kMaxBytes = 4 * 1024 * 1024;
    static constexpr std::uint32_t kQueueTimeMicros = 4000;
    /// Bulk bytes written between two looks at the delivery rate.
    static constexpr std::size_t kRetuneBytes = 1024 * 1024;

    /// The limit for a delivery rate in bytes per second, rounded to 16 KiB steps.
    static std::uint32_t limitFor(std::uint64_t bytesPerSecond);

    /// Counts bulk bytes written. The first bulk write sets the smallest limit (connections
    /// that never carry bulk, such as v1, are left alone); every kRetuneBytes after that it
    /// reads the delivery rate (TCP_INFO) and moves the limit. A sample taken while the
    /// sender was application-limited may raise the limit but never lowers it.
    void wrote(int fd, std::size_t bulkBytes);

    std::uint32_t limit() const { return limit_; }

private:
    void apply(int fd, std::uint32_t limit);

    std::uint32_t limit_ = 0;
    std::size_t sinceRetune_ = 0;
};

}  // namespace nexus::net

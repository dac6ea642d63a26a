// SPDX-License-Identifier: AGPL-3.0-or-later
// Outbound TCP connect that tries every resolved address with its own deadline, so a broken
// IPv6 route costs seconds, not the kernel's two-minute SYN timeout.
#pragma once

#include "common/error.hpp"
#include "net/transport.hpp"

#include <chrono>
#include <string>

namespace nexus::net {

struct HostPort {
    std::string host;  ///< without brackets for IPv6 literals
    std::uint16_t port = 0;
};

/// Parses "host:port" and "[v6]:port"; the port is required and must be 1-65535.
Result<HostPort> parseHostPort(std::string_view text);

/// Resolves and connects to the first address that answers within `perAddress`.
asio::awaitable<Result<tcp::socket>> connectAny(const HostPort& target,
                                                std::chrono::steady_clock::duration perAddress);

/// Connects to one endpoint with a deadline.
asio::awaitable<Result<tcp::socket>> connectWithTimeout(
    const tcp::endpoint& endpoint, std::chrono::steady_clock::duration timeout);

}  // namespace nexus::net

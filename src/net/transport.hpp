// SPDX-License-Identifier: AGPL-3.0-or-later
// A byte stream to a peer, whatever door it came through (plain TCP now; TLS and WebSocket
// implement the same interface), so sessions never depend on the transport.
#pragma once

#include "common/error.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nexus::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class Transport {
public:
    virtual ~Transport() = default;

    /// Reads at least one byte; ec is set (eof included) when none can be read.
    virtual asio::awaitable<std::size_t> readSome(asio::mutable_buffer buffer, ErrorCode& ec) = 0;

    /// Writes the whole buffer in as few system calls as the transport allows.
    virtual asio::awaitable<void> writeAll(asio::const_buffer buffer, ErrorCode& ec) = 0;

    /// Writes the buffers in order as one stream of bytes: one gathered system call on
    /// plain TCP. The default writes them one by one (a WebSocket message each).
    virtual asio::awaitable<void> writeGather(const std::vector<asio::const_buffer>& buffers,
                                              ErrorCode& ec);

    /// Closes at once; pending reads and writes complete with an error.
    virtual void close() = 0;

    /// The peer as "address:port" (IPv4-mapped addresses shown as IPv4).
    virtual const std::string& peer() const = 0;

    /// The door for logs and telemetry: "tcp", "tls" or "ws".
    virtual std::string_view door() const = 0;

    /// The TCP socket underneath, for socket options (see SendQueueLimiter); -1 when closed.
    virtual int nativeHandle() { return -1; }
};

/// TCP_NODELAY (a frame must not wait for the peer's delayed ACK) and keepalive (idle 30 s,
/// interval 10 s, 3 probes), for every transport's socket.
void tuneSocket(tcp::socket& socket);

/// Plain TCP, tuned with tuneSocket.
std::unique_ptr<Transport> makeTcpTransport(tcp::socket socket);

/// "1.2.3.4:80" or "[::1]:80", with IPv4-mapped IPv6 shown as IPv4.
std::string formatEndpoint(const tcp::endpoint& endpoint);

/// The address with IPv4-mapped IPv6 folded to IPv4, so one caller has one key.
asio::ip::address canonicalAddress(const asio::ip::address& address);

}  // namespace nexus::net

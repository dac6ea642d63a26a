// SPDX-License-Identifier: AGPL-3.0-or-later
// One control port, three doors: the first byte a new connection sends tells TLS (0x16, a
// handshake record), plain v1 (0x00: a frame is at most 16 MiB, so its length starts with
// zero) and an HTTP WebSocket upgrade ('G' of GET) apart, without consuming it.
#pragma once

#include "common/error.hpp"
#include "net/transport.hpp"

#include <chrono>

namespace nexus::net {

enum class Door { Tls, PlainV1, Http, Unknown };

/// Classifies a first byte (pure; see the header comment).
Door classifyFirstByte(unsigned char byte);

/// Waits (up to `timeout`) for the first byte and classifies it, leaving it in the socket.
asio::awaitable<Result<Door>> sniffDoor(tcp::socket& socket,
                                        std::chrono::steady_clock::duration timeout);

}  // namespace nexus::net

// SPDX-License-Identifier: AGPL-3.0-or-later
// One control port, three doors: the first byte a new connection sends tells TLS (0x16, a
// handshake record), plain v1 (0x00: a frame is at most 16 MiB, so its length starts with
// zero) and an HTTP WebSocket upgrade ('G' of GET) apart, without consuming it. The agent
// reads a wrong answer the same way: the first bytes a peer sends say what it is.
#pragma once

#include "common/error.hpp"
#include "net/transport.hpp"

#include <chrono>

namespace nexus::net {

enum class Door { Tls, PlainV1, Http, Unknown };

/// Classifies a first byte (pure; see the header comment).
Door classifyFirstByte(unsigned char byte);

/// What answered the agent, when its answer is not what the agent spoke: HttpServer for an
/// HTTP response ("HTTP/"), TlsServer for a TLS record (handshake or alert), NotRelay for
/// anything else; no error when `firstBytes` is empty (nothing to tell from).
ErrorCode classifyForeignAnswer(std::string_view firstBytes);

/// Waits (up to `timeout`) for the first byte and classifies it, leaving it in the socket.
asio::awaitable<Result<Door>> sniffDoor(tcp::socket& socket,
                                        std::chrono::steady_clock::duration timeout);

}  // namespace nexus::net

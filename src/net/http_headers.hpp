// SPDX-License-Identifier: AGPL-3.0-or-later
// Header rules shared by the relay and the agent: hop-by-hop filtering and the checks that
// keep one tenant's bytes from being read as another's message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace nexus::net {

/// Connection-level headers that never cross a proxy (RFC 9110 §7.6.1), lowercase names.
bool isHopByHop(std::string_view lowercaseName);

/// An RFC 9110 token: header names and methods.
bool isToken(std::string_view text);

/// A header value without CR, LF or NUL (what could split or smuggle a message).
bool isSafeFieldValue(std::string_view text);

/// A field the relay may pass on to a visitor: a token name, a safe value, not hop-by-hop.
/// The relay sets its own framing; nothing from a tunnel may split the shared connection.
bool isPassableField(std::string_view lowercaseName, std::string_view value);

/// Appends "name: value\r\n" to a message head being built.
void appendField(std::string& text, std::string_view name, std::string_view value);

/// "1a2b\r\n": the size line of a chunk in the chunked transfer coding.
std::string chunkSizeLine(std::uint64_t size);

/// `text` without leading and trailing spaces and tabs (RFC 9110 OWS).
std::string_view trimOws(std::string_view text);

/// True if a comma-separated header value (e.g. Connection) lists `lowercaseToken`.
bool listsToken(std::string_view value, std::string_view lowercaseToken);

}  // namespace nexus::net

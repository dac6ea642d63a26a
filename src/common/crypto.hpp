// SPDX-License-Identifier: AGPL-3.0-or-later
// Thin wrappers over OpenSSL: digests, randomness, constant-time comparison, base64.
#pragma once

#include "common/error.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nexus::crypto {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest sha256(std::string_view data);

/// Cryptographically secure random bytes as lowercase hex (2 characters per byte).
std::string randomHex(std::size_t bytes);

/// A random RFC 4122 version 4 UUID in lowercase hyphenated form (36 characters).
std::string uuidV4();

std::string toHex(const std::uint8_t* data, std::size_t size);

/// Compares in time that depends only on the sizes, never on where the bytes differ.
bool constantTimeEqual(std::string_view a, std::string_view b);

/// Standard alphabet, canonical `=` padding, no line breaks (what the deployed protocol uses).
std::string base64Encode(std::string_view data);

/// Strict decoding of padded standard base64; anything else is InvalidBase64.
Result<std::string> base64Decode(std::string_view text);

/// Exact length of base64Encode(data) for data of `size` bytes.
constexpr std::uint64_t base64EncodedSize(std::uint64_t size) {
    return (size + 2) / 3 * 4;
}

}  // namespace nexus::crypto

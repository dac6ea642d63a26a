// SPDX-License-Identifier: AGPL-3.0-or-later
// The token scheme shared by both directory backends: generation, at-rest digest, verification.
#pragma once

#include "common/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nexus::directory {

/// Marks a stored token column value as a digest rather than a legacy plaintext token.
inline constexpr std::string_view kDigestPrefix = "sha256:";

/// Length of tokenDigest(): the prefix plus 43 unpadded base64url characters.
inline constexpr std::size_t kDigestSize = kDigestPrefix.size() + 43;

/// A new 256-bit token as 64 lowercase hex characters, the deployed token format.
std::string newToken();

/// What the token column stores for a new row: "sha256:" + base64url-no-padding(SHA-256).
/// 50 characters, so it fits the deployed VARCHAR(64) column and keeps its UNIQUE constraint.
std::string tokenDigest(std::string_view token);

/// True when a stored value is a digest; false for legacy rows holding the plaintext token.
bool isHashedToken(std::string_view stored);

/// Whether `presented` is the token behind `stored` (digest or legacy plaintext). The time
/// taken depends only on the kind of row, never on where the two values differ.
bool tokenMatches(std::string_view presented, std::string_view stored);

/// The same work as tokenMatches() against a digest row, for slugs that have no row, so an
/// unknown or inactive slug cannot be told apart from a wrong token by timing. Always false.
bool dummyTokenCheck(std::string_view presented);

/// The active row a backend found for a slug: its id and its token column.
struct StoredToken {
    std::int64_t id = 0;
    std::string value;
};

/// The end of every backend's authenticate(): the id if `presented` matches `row`, else
/// Errc::AuthFailed after the same work whether or not there was a row.
Result<std::int64_t> verifyToken(std::string_view presented, const std::optional<StoredToken>& row);

}  // namespace nexus::directory

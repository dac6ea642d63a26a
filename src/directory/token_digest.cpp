// SPDX-License-Identifier: AGPL-3.0-or-later
// Token generation and constant-time verification against digest or legacy plaintext rows.
#include "directory/token_digest.hpp"

#include "common/crypto.hpp"

namespace nexus::directory {
namespace {

std::string_view asBytes(const crypto::Sha256Digest& digest) {
    return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

// base64url (RFC 4648 §5) without padding: no '/' or '+' to quote anywhere, and no '=' that
// would only waste column width.
std::string base64UrlNoPadding(std::string_view data) {
    std::string text = crypto::base64Encode(data);
    while (!text.empty() && text.back() == '=') {
        text.pop_back();
    }
    for (char& c : text) {
        if (c == '+') {
            c = '-';
        } else if (c == '/') {
            c = '_';
        }
    }
    return text;
}

}  // namespace

std::string newToken() {
    return crypto::randomHex(32);
}

std::string tokenDigest(std::string_view token) {
    const crypto::Sha256Digest digest = crypto::sha256(token);
    return std::string(kDigestPrefix) + base64UrlNoPadding(asBytes(digest));
}

bool isHashedToken(std::string_view stored) {
    return stored.substr(0, kDigestPrefix.size()) == kDigestPrefix;
}

bool tokenMatches(std::string_view presented, std::string_view stored) {
    if (isHashedToken(stored)) {
        // Presenting a leaked digest fails here: it is hashed again before the comparison.
        return crypto::constantTimeEqual(tokenDigest(presented), stored);
    }
    // Legacy plaintext row. Comparing the digests rather than the plaintexts keeps both
    // operands 32 bytes long, so neither the length nor the first differing byte of the
    // stored token leaks through timing.
    const crypto::Sha256Digest a = crypto::sha256(presented);
    const crypto::Sha256Digest b = crypto::sha256(stored);
    return crypto::constantTimeEqual(asBytes(a), asBytes(b));
}

bool dummyTokenCheck(std::string_view presented) {
    // The result is discarded, so it does not matter that some preimage could in theory hash
    // to this value; only the work done (one digest, one 50-byte comparison) matters.
    static const std::string kNoSuchRow = std::string(kDigestPrefix) + std::string(43, 'A');
    static_cast<void>(crypto::constantTimeEqual(tokenDigest(presented), kNoSuchRow));
    return false;
}

Result<std::int64_t> verifyToken(std::string_view presented,
                                 const std::optional<StoredToken>& row) {
    if (!row) {
        dummyTokenCheck(presented);
        return makeError(Errc::AuthFailed);
    }
    if (!tokenMatches(presented, row->value)) {
        return makeError(Errc::AuthFailed);
    }
    return row->id;
}

}  // namespace nexus::directory

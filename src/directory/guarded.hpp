// SPDX-License-Identifier: AGPL-3.0-or-later
// Shared by the backends: the Directory interface promises results, never exceptions.
#pragma once

#include "common/error.hpp"

namespace nexus::directory {

inline ErrorCode unavailable() {
    return makeError(Errc::DirectoryUnavailable);
}

/// Runs `body`, turning allocation and OpenSSL failures (which throw) into
/// DirectoryUnavailable.
template <typename Body>
auto guarded(Body&& body) noexcept -> decltype(body()) {
    try {
        return body();
    } catch (...) {
        return unavailable();
    }
}

}  // namespace nexus::directory

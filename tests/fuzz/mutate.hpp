// SPDX-License-Identifier: AGPL-3.0-or-later
// Mutations shared by the fixed-seed drivers of the fuzz entry points.
#pragma once

#include <cstddef>
#include <string>

namespace nexus::fuzz {

/// Flips a few bytes after the first (which the entry points read as a parameter).
/// `below(n)` draws from [0, n).
template <class Below>
void flipSomeBytes(std::string& input, Below& below) {
    for (std::size_t k = 1 + below(4); k > 0; --k) {
        // The mask before the position (the right side of `^=` came first), so a seed keeps
        // giving the same inputs.
        const std::size_t mask = 1 + below(255);
        char& byte = input[1 + below(input.size() - 1)];
        byte = static_cast<char>(static_cast<unsigned char>(byte) ^ mask);
    }
}

}  // namespace nexus::fuzz

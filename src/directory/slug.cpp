// SPDX-License-Identifier: AGPL-3.0-or-later
// Slug validation: one DNS label of lowercase letters, digits and inner hyphens.
#include "directory/directory.hpp"

namespace nexus::directory {

bool isValidSlug(std::string_view slug) {
    // 63 is the DNS label limit and the deployed VARCHAR(63); the deployed registration API
    // also demands 3 characters, but shorter labels are valid hostnames an operator may add.
    if (slug.empty() || slug.size() > 63 || slug.front() == '-' || slug.back() == '-') {
        return false;
    }
    for (const char c : slug) {
        const bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        if (!allowed) {
            return false;
        }
    }
    return true;
}

}  // namespace nexus::directory

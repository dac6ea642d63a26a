// SPDX-License-Identifier: AGPL-3.0-or-later
// jsonDepthWithin: one linear scan that tracks strings and escapes, nothing else.
#include "protocol/json_guard.hpp"

namespace nexus::protocol {

bool jsonDepthWithin(std::string_view text, int maxDepth) {
    int depth = 0;
    bool inString = false;
    bool escaped = false;
    for (const char c : text) {
        if (inString) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                inString = false;
            }
            continue;
        }
        switch (c) {
            case '"': inString = true; break;
            case '[':
            case '{':
                if (++depth > maxDepth) {
                    return false;
                }
                break;
            case ']':
            case '}':
                if (--depth < 0) {
                    return false;  // a closing bracket with nothing open is not JSON
                }
                break;
            default: break;
        }
    }
    return true;
}

}  // namespace nexus::protocol

// SPDX-License-Identifier: AGPL-3.0-or-later
// What reaches a log line from the network (a slug, a path, a header) must not be able to end
// the line, forge the next one or drive the operator's terminal. The sink escapes every
// message, so no call site has to remember to.
#pragma once

#include <string>
#include <string_view>

namespace nexus {

/// Appends `text` with every byte that is not printable shown as `\xNN` (two lower-case hex
/// digits): C0 controls (CR, LF, ESC, TAB...), DEL, the C1 controls U+0080-U+009F (a
/// terminal may take U+009B for ESC [) and any byte that is not part of valid UTF-8. Printable
/// ASCII and valid UTF-8 otherwise pass unchanged.
void appendEscapedForLog(std::string& out, std::string_view text);

/// The same into a buffer with room for `4 * text.size()` bytes (each byte is at most "\xNN"),
/// for a caller that builds a line by hand; returns the end of what was written.
char* writeEscapedForLog(char* out, std::string_view text);

inline std::string escapeForLog(std::string_view text) {
    std::string out;
    appendEscapedForLog(out, text);
    return out;
}

}  // namespace nexus

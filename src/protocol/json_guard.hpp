// SPDX-License-Identifier: AGPL-3.0-or-later
// A cheap pre-parse pass bounding JSON nesting, so a hostile `[[[[...` never reaches the
// recursive parts of nlohmann/json (its destructor and dump() recurse).
#pragma once

#include <string_view>

namespace nexus::protocol {

/// False if any array/object nests deeper than maxDepth (brackets inside strings don't count).
bool jsonDepthWithin(std::string_view text, int maxDepth);

}  // namespace nexus::protocol

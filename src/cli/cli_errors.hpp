// SPDX-License-Identifier: AGPL-3.0-or-later
// Usage errors that name the real cause: the word the parser did not know and the nearest one
// it does, instead of the first requirement that the typo left unmet.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace nexus {

/// The known word nearest to `typed` (a typo of it), or empty when none is close enough.
std::string nearestName(const std::string& typed, const std::vector<std::string>& known);

/// Every long option name ("--slug") that `command` accepts, its fallthrough parents' included.
std::vector<std::string> optionNames(const CLI::App& command);

/// One line saying what is wrong with the command line `app` failed to parse with `error`.
std::string explainParseError(const CLI::App& app, const CLI::ParseError& error);

}  // namespace nexus

// SPDX-License-Identifier: AGPL-3.0-or-later
// setup's questions on the terminal.
#pragma once

#include <string>

namespace nexus::ctl {

/// Both standard input and output are a terminal.
bool onTerminal();
/// Asks `question`; the answer without surrounding spaces, or `byDefault` for an empty one.
/// End of input is a Failure (the user gave up).
std::string ask(const std::string& question, const std::string& byDefault = {});
/// A yes/no question, yes by default.
bool confirm(const std::string& question);

}  // namespace nexus::ctl

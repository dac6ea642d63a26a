// SPDX-License-Identifier: AGPL-3.0-or-later
// The command line: flags, environment variables of the deployed binary, config files.
#pragma once

namespace nexus {

/// Parses and runs; exit codes: 0 success, 1 runtime failure, 2 bad usage.
int runCommandLine(int argc, char** argv);

}  // namespace nexus

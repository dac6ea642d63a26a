// SPDX-License-Identifier: AGPL-3.0-or-later
// Where settings and secrets come from besides flags: config files, token files, environment
// variables, systemd credentials.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace nexus {

/// Copies argv, inserting the flags read from `--config FILE` right after the subcommand(s)
/// of `app` it names, so that flags given on the command line override the file. A setting
/// the subcommand does not know is an error. Returns a one-line problem ("FILE:LINE: ...")
/// or an empty string.
std::string expandConfigFile(const CLI::App& app, int argc, char** argv,
                             std::vector<std::string>& out);

/// The token from, in order: --token-file, --token, NEXUS_RELAY_TOKEN, NODYX_RELAY_TOKEN,
/// the systemd credential "token". Returns a one-line problem or an empty string.
std::string resolveToken(const std::string& flag, const std::string& file, std::string& out);

/// Where resolveToken found the token when not in a file, for messages: "--token",
/// "NEXUS_RELAY_TOKEN", "the systemd credential 'token'".
std::string tokenOrigin(const std::string& flag);

/// The value of the last `--NAME VALUE` or `--NAME=VALUE` in `args`; empty when none.
std::string lastOptionValue(const std::vector<std::string>& args, const std::string& name);

}  // namespace nexus

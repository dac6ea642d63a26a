// SPDX-License-Identifier: AGPL-3.0-or-later
// Where a new slug and token go once the relay accepted them (SetSlug on D-Bus): the
// "slug = " line of the agent's configuration file and its token file, so that the next
// start registers the same. A token read from elsewhere (the systemd credential, the
// environment, the command line) cannot be written back: the caller is told to store it.
#pragma once

#include <string>

namespace nexus {

/// Where the running agent read its slug and token.
struct AgentSources {
    std::string configFile;          ///< the file of --config; empty when none
    bool slugOnCommandLine = false;  ///< --slug given as a flag, which wins over the file
    std::string tokenFile;           ///< the file of --token-file; empty when none
    /// Where the token came from when not from a file, for the caller: "the systemd
    /// credential 'token'".
    std::string tokenOrigin;
};

/// Writes `slug` into the configuration file and `token` into the token file, each replaced
/// whole (a new file renamed over the old, with its mode) so that a crash leaves the old or
/// the new one. Nothing is written unless both can be staged. Returns what was not stored
/// and what the caller must do, as one sentence, or an empty string.
std::string storeSlugAndToken(const AgentSources& sources, const std::string& slug,
                              const std::string& token);

/// `text` (a configuration file) with each line that sets slug giving `slug` instead, or
/// with such a line added when none does; every other line as it was.
std::string withSlugLine(const std::string& text, const std::string& slug);

}  // namespace nexus

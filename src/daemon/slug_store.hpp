// SPDX-License-Identifier: AGPL-3.0-or-later
// Where a new slug and token go once the relay accepted them (SetSlug on D-Bus): the
// "slug = " line of the agent's configuration file and its token file, so that the next
// start registers the same. A token read from elsewhere (the systemd credential, the
// environment, the command line) cannot be written back: both then go to the agent's state
// directory (slug_state.hpp), or, without one, the caller is told to store them.
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
    /// The record in the agent's state directory (slug_state.hpp); empty when it has none.
    std::string stateFile;
    /// The running slug and token came from stateFile, which wins over the others.
    bool fromStateFile = false;
};

/// What became of an accepted slug and token.
struct SlugStoring {
    enum class Where {
        Sources,    ///< the configuration file and the token file
        StateFile,  ///< AgentSources::stateFile
        Nowhere,    ///< not stored: the next start registers the previous slug
    };
    Where where = Where::Nowhere;
    /// For the caller, one sentence: where they went when not where the agent read them, or
    /// why they were not stored and what to do; empty with Where::Sources.
    std::string note;
};

/// Writes `slug` into the configuration file and `token` into the token file, each replaced
/// whole (a new file renamed over the old, with its mode) so that a crash leaves the old or
/// the new one. Nothing is written unless both can be staged. When they cannot be (or the
/// state file is in use), both go to the state file instead (0600, replaced the same way).
SlugStoring storeSlugAndToken(const AgentSources& sources, const std::string& slug,
                              const std::string& token);

/// `text` (a configuration file) with each line that sets slug giving `slug` instead, or
/// with such a line added when none does; every other line as it was.
std::string withSlugLine(const std::string& text, const std::string& slug);

}  // namespace nexus

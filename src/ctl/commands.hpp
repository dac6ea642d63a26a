// SPDX-License-Identifier: AGPL-3.0-or-later
// nexusctl's commands, each a few D-Bus calls and their output; failures throw ctl::Failure.
#pragma once

#include <string>

namespace nexus::ctl {

struct Options {
    bool user = false;  ///< the session bus instead of the system bus
    bool json = false;
};

/// The agent's properties: aligned rows, or one JSON object keyed by property name.
void status(const Options& options);
/// The status, then one line (or JSON object) per state change until interrupted, or until
/// the agent leaves the bus.
void watch(const Options& options);
void reconnect(const Options& options);
/// Moves the agent to `slug` with the token in `tokenFile`: one line saying it did (and what
/// the agent could not store), or a Failure with the relay's reason.
void setSlug(const Options& options, const std::string& slug, const std::string& tokenFile);
/// The relay's live tunnels: a table, or a JSON array of objects.
void tunnels(const Options& options);
void disconnect(const Options& options, const std::string& slug);
void revoke(const Options& options, const std::string& slug);

}  // namespace nexus::ctl

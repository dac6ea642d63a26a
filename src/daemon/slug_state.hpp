// SPDX-License-Identifier: AGPL-3.0-or-later
// The agent's own record of a slug set on D-Bus (SetSlug, `nexusctl set-slug`), kept in its
// state directory when it cannot write where it read its slug and token: the packaged unit
// reads /etc/nexus-relay (root's) and a systemd credential, and may write only
// $STATE_DIRECTORY. At the next start the record wins over the configuration, so the change
// survives restarts; removing the file goes back to the configuration.
#pragma once

#include <optional>
#include <string>
#include <variant>

namespace nexus {

struct SlugState {
    std::string slug;
    std::string token;
};

/// $STATE_DIRECTORY/slug.conf (the first directory when systemd lists several); empty when
/// the agent has no state directory.
std::string slugStatePath();

/// The record's text: a comment saying where it comes from, then "slug = " and "token = ".
std::string slugStateText(const SlugState& state);

/// The record in `path`: nullopt when there is none, the slug and token when it is whole, or
/// what is wrong with it in one line naming the file ("PATH:3: unknown setting 'x'").
std::variant<std::optional<SlugState>, std::string> readSlugState(const std::string& path);

}  // namespace nexus

// SPDX-License-Identifier: AGPL-3.0-or-later
// MESSAGE_ID values of the key events, so `journalctl MESSAGE_ID=…` finds them whatever the
// wording, and `journalctl -x` explains them from systemd/nexus-relay.catalog (keep the two in
// step: a test checks every id here has a catalog entry). Generated once with
// `systemd-id128 new`; never change an id, add a new one.
#pragma once

#include "common/log.hpp"

#include <string>
#include <string_view>

namespace nexus::sd::message_id {

// Relay.
inline constexpr std::string_view kTunnelRegistered = "bf140bc93007453b90e801f51ec34449";
inline constexpr std::string_view kTunnelGone = "facd4e0aba144a349191eb1dd5731322";
inline constexpr std::string_view kRegistrationRejected = "d1b45f4746d64caf8b83a048c7b3b289";
inline constexpr std::string_view kSlugRevoked = "cb5d7a7094be48b094c84c647e06bde3";
inline constexpr std::string_view kAuthFailure = "f4e6c016085845bf92d0294825f6be30";

// Agent.
inline constexpr std::string_view kAgentBackoff = "c08a5023c0304c54ac9a4ddde79e92d1";
inline constexpr std::string_view kAgentRegistered = "e205c6a8075b4b79ba17aae3a051f017";
inline constexpr std::string_view kAgentReplaced = "a54f711b923d47f98dfa8a9566644616";

/// The field that tags a log line with `id`: log.info(text, {field(kTunnelGone), ...}).
inline LogField field(std::string_view id) {
    return {"MESSAGE_ID", std::string(id)};
}

}  // namespace nexus::sd::message_id

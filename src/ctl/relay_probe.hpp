// SPDX-License-Identifier: AGPL-3.0-or-later
// Which door of the relay this machine can use, tried as the 0.1.x installer did: the
// control port with TLS first, then the WebSocket door wss://HOST/tunnel (only a 101 counts).
#pragma once

#include "ctl/https_client.hpp"

#include <optional>
#include <string>

namespace nexus::ctl {

struct Door {
    std::string server;  ///< the agent's --server: HOST:PORT or wss://HOST/tunnel
    std::string why;     ///< one line: which door and why
};

/// The door that answered, or nullopt with `error` saying why neither did.
std::optional<Door> probeRelay(HttpsClient& https, const std::string& host, unsigned port,
                               std::chrono::seconds timeout, std::string& error);

}  // namespace nexus::ctl

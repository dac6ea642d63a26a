// SPDX-License-Identifier: AGPL-3.0-or-later
// What the 0.1.x installer left on a machine: a hand-written nexus-relay-client.service under
// /etc/systemd/system with the token on its ExecStart line (--server, --slug, --token,
// --local-port), and /root/nexus-credentials.txt ("Label   : value" lines, the token on
// "Directory token"). Parsing only: import.cpp decides what to do with it.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace nexus::ctl {

struct LegacyUnit {
    std::string program;  ///< ExecStart's binary, e.g. /usr/local/bin/nexus-relay
    std::string server;   ///< --server; the 0.1.x default relay.nexusnode.app:7443 when absent
    std::string slug;
    std::string token;
    std::string localHost;  ///< empty when the line has no --local-host
    unsigned localPort = 80;
};

/// ExecStart's words, split as systemd does (quotes, backslash-newline continuations, the
/// "-@:+!" prefixes dropped).
std::vector<std::string> execStartWords(const std::string& unitText);

/// The unit's agent settings, or nullopt and `error` saying what is missing ("no --slug on
/// the ExecStart line").
std::optional<LegacyUnit> parseLegacyUnit(const std::string& unitText, std::string& error);

/// The value of the "Label : value" line of the credentials file whose label is `label`
/// (spaces around both ignored); empty when there is none.
std::string credentialsValue(const std::string& credentialsText, const std::string& label);

/// The public domain of the install's sites: the host of the credentials file's "URL"
/// (https://SLUG.DOMAIN) without the slug, else the relay's host without its relay., relay6.
/// or tunnel. label, else the deployed nexusnode.app.
std::string legacyDomain(const LegacyUnit& unit, const std::string& credentialsUrl);

}  // namespace nexus::ctl

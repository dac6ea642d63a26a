// SPDX-License-Identifier: AGPL-3.0-or-later
// nexusctl setup: from an installed package to a public URL in one step (probe the relay,
// register the slug, store the token and client.conf, enable the agent, wait until the URL
// answers), and setup --import for a machine set up by the 0.1.x installer.
#pragma once

#include "ctl/https_client.hpp"

#include <string>

namespace nexus::ctl {

/// Where setup writes; every path under `root` (tests and images use another root).
struct SetupPaths {
    std::string root;
    std::string sysconfdir = "/etc/nexus-relay";
    std::string unit = "nexus-relay-client.service";
    std::string systemctl = "systemctl";

    std::string under(const std::string& absolute) const { return root + absolute; }
    std::string tokenFile() const { return under(sysconfdir + "/token"); }
    std::string clientConf() const { return under(sysconfdir + "/client.conf"); }
};

struct SetupOptions {
    std::string slug;
    std::string name;
    std::string relay = "relay.nexusnode.app:7443";
    std::string directory = "https://nexusnode.app";
    std::string domain;  ///< empty: the directory's host
    std::string localHost = "127.0.0.1";
    unsigned localPort = 80;
    bool yes = false;
    bool dryRun = false;
    bool wait = true;
    unsigned timeoutSeconds = 90;  ///< for the agent and the public URL
    bool userBus = false;
    HttpsOptions https;
    SetupPaths paths;
};

/// Failures throw ctl::Failure with one line; nothing is left changed on the machine.
void setup(SetupOptions options);
/// The 0.1.x install moved to the package (import.cpp).
void importLegacy(SetupOptions options);

/// Waits for the agent to register and for `publicUrl` to answer through the tunnel; throws
/// a Failure naming what did not happen by the deadline.
void waitOnline(const SetupOptions& options, const std::string& publicUrl);

}  // namespace nexus::ctl

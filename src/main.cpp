// SPDX-License-Identifier: AGPL-3.0-or-later
// nexus-relay: the relay server, the agent and the directory commands in one binary.
#include "cli/cli.hpp"

int main(int argc, char** argv) {
    return nexus::runCommandLine(argc, argv);
}

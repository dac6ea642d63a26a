// SPDX-License-Identifier: AGPL-3.0-or-later
// Command-line parsing with CLI11. Accepts every flag and environment variable of the deployed
// binary so existing units and installers keep working; a config file can hold any flag.
#include "cli/cli.hpp"

#include "cli/cli_errors.hpp"
#include "cli/client_options.hpp"
#include "cli/common_options.hpp"
#include "cli/config_sources.hpp"
#include "cli/directory_commands.hpp"
#include "cli/server_options.hpp"
#include "daemon/daemons.hpp"
#include "nexus_config.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstring>

namespace nexus {
namespace {

// Other local users can read a process's arguments: overwrite the token once it is parsed.
bool scrubTokenArgument(int argc, char** argv) {
    bool found = false;
    for (int i = 1; i < argc; ++i) {
        char* value = nullptr;
        if (std::strcmp(argv[i], "--token") == 0 && i + 1 < argc) {
            value = argv[i + 1];
        } else if (std::strncmp(argv[i], "--token=", 8) == 0) {
            value = argv[i] + 8;
        }
        if (value != nullptr) {
            std::memset(value, 'x', std::strlen(value));
            found = true;
        }
    }
    return found;
}

int usageError(const std::string& message) {
    fmt::print(stderr, "nexus-relay: error: {}\n", message);
    return 2;
}

}  // namespace

int runCommandLine(int argc, char** argv) {
    CLI::App app{"Nexus Relay: reach a home-hosted Nexus at SLUG.nexusnode.app, no open port",
                 "nexus-relay"};
    app.set_version_flag("--version,-V,-v", std::string("nexus-relay ") + NEXUS_VERSION);
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.require_subcommand(1);

    ServerOptions serverOptions;
    auto* serverCmd = app.add_subcommand("server", "Run the relay server (on the VPS)");
    serverOptions.attach(*serverCmd);

    ClientOptions clientOptions;
    auto* clientCmd = app.add_subcommand("client", "Run the agent (next to your Nexus instance)");
    clientOptions.attach(*clientCmd);

    DirectoryOptions dirOptions;
    std::string slug, url, domain = "nexusnode.app";
    auto* dirCmd = app.add_subcommand("directory", "Manage slugs and tokens (operators)");
    dirCmd->require_subcommand(1);
    dirCmd->fallthrough();
    dirOptions.attach(*dirCmd);
    dirCmd->add_option("--domain", domain, "Domain for default URLs")->capture_default_str();
    auto* addCmd = dirCmd->add_subcommand("add", "Add a slug and print its new token once");
    addCmd->add_option("slug", slug, "The slug (one DNS label)")->required();
    addCmd->add_option("--url", url, "Redirect target while the tunnel is down");
    auto* initCmd = dirCmd->add_subcommand(
        "init", "Create an empty SQLite directory (other commands refuse a missing one)");
    auto* listCmd = dirCmd->add_subcommand("list", "List slugs");
    auto* revokeCmd = dirCmd->add_subcommand("revoke", "Revoke a slug; its live tunnel is dropped");
    revokeCmd->add_option("slug", slug, "The slug")->required();
    for (auto* cmd : {serverCmd, clientCmd, dirCmd, addCmd, initCmd, listCmd, revokeCmd}) {
        cmd->add_option("--config", "Read flags from FILE (one 'name = value' per line)");
    }

    std::vector<std::string> args;
    if (auto problem = expandConfigFile(app, argc, argv, args); !problem.empty()) {
        return usageError(problem);
    }
    try {
        std::vector<char*> pointers;
        pointers.reserve(args.size());
        for (auto& arg : args) {
            pointers.push_back(arg.data());
        }
        app.parse(static_cast<int>(pointers.size()), pointers.data());
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {
            return app.exit(e);  // --help, --version
        }
        return usageError(explainParseError(app, e));
    }
    if (scrubTokenArgument(argc, argv)) {
        fmt::print(stderr,
                   "nexus-relay: warning: a token on the command line is visible to other "
                   "users (ps); use --token-file or NEXUS_RELAY_TOKEN instead\n");
    }

    if (serverCmd->parsed()) {
        auto where = serverOptions.directory.location();
        if (!where) {
            return usageError("use either --database or --database-url, not both");
        }
        if (auto problem = serverOptions.checkTrustedProxies(); !problem.empty()) {
            return usageError(problem);
        }
        if (auto problem = serverOptions.checkStatusListen(); !problem.empty()) {
            return usageError(problem);
        }
        return runServer(serverOptions.finish(), *where, serverOptions.bus, serverOptions.logLevel);
    }
    if (clientCmd->parsed()) {
        if (auto problem = clientOptions.finish(); !problem.empty()) {
            return usageError(problem);
        }
        return runClient(clientOptions.config, clientOptions.statusListen, clientOptions.bus,
                         clientOptions.logLevel);
    }
    auto where = dirOptions.location();
    if (!where) {
        return usageError("use either --database or --database-url, not both");
    }
    if (initCmd->parsed()) {
        return directoryInit(*where);
    }
    if (addCmd->parsed()) {
        return directoryAdd(*where, slug, url.empty() ? "https://" + slug + "." + domain : url);
    }
    if (listCmd->parsed()) {
        return directoryList(*where);
    }
    return directoryRevoke(*where, slug);
}

}  // namespace nexus

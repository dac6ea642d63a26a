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
#include "daemon/slug_state.hpp"
#include "nexus_config.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

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

/// Every command and option, ready to parse once. A reload (SIGHUP) builds a new one and
/// parses the same arguments again, so the configuration file is read afresh.
struct CommandLine {
    CLI::App app{"Nexus Relay: reach a home-hosted Nexus at SLUG.nexusnode.app, no open port",
                 "nexus-relay"};
    ServerOptions serverOptions;
    ClientOptions clientOptions;
    DirectoryOptions dirOptions;
    std::string slug, url, domain = "nexusnode.app";
    CLI::App* serverCmd = nullptr;
    CLI::App* clientCmd = nullptr;
    CLI::App* initCmd = nullptr;
    CLI::App* addCmd = nullptr;
    CLI::App* listCmd = nullptr;

    CommandLine() {
        app.set_version_flag("--version,-V,-v", std::string("nexus-relay ") + NEXUS_VERSION);
        app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
        app.require_subcommand(1);
        serverCmd = app.add_subcommand("server", "Run the relay server (on the VPS)");
        serverOptions.attach(*serverCmd);
        clientCmd = app.add_subcommand("client", "Run the agent (next to your Nexus instance)");
        clientOptions.attach(*clientCmd);
        auto* dirCmd = app.add_subcommand("directory", "Manage slugs and tokens (operators)");
        dirCmd->require_subcommand(1);
        dirCmd->fallthrough();
        dirOptions.attach(*dirCmd);
        dirCmd->add_option("--domain", domain, "Domain for default URLs")->capture_default_str();
        addCmd = dirCmd->add_subcommand("add", "Add a slug and print its new token once");
        addCmd->add_option("slug", slug, "The slug (one DNS label)")->required();
        addCmd->add_option("--url", url, "Redirect target while the tunnel is down");
        initCmd = dirCmd->add_subcommand(
            "init", "Create an empty SQLite directory (other commands refuse a missing one)");
        listCmd = dirCmd->add_subcommand("list", "List slugs");
        auto* revokeCmd =
            dirCmd->add_subcommand("revoke", "Revoke a slug; its live tunnel is dropped");
        revokeCmd->add_option("slug", slug, "The slug")->required();
        for (auto* cmd : {serverCmd, clientCmd, dirCmd, addCmd, initCmd, listCmd, revokeCmd}) {
            cmd->add_option("--config", "Read flags from FILE (one 'name = value' per line)");
        }
    }

    /// Parses `argv` (the configuration file it names included). A usage error as one line;
    /// `exitCode` is set instead for --help and --version, which print and end.
    std::string parse(int argc, char** argv, std::optional<int>& exitCode) {
        given_.assign(argv, argv + argc);
        std::vector<std::string> args;
        if (auto problem = expandConfigFile(app, argc, argv, args); !problem.empty()) {
            return problem;
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
                exitCode = app.exit(e);  // --help, --version
                return {};
            }
            return explainParseError(app, e);
        }
        return {};
    }

    /// The relay's settings once parsed, or what is wrong with them.
    std::variant<ServerSettings, std::string> serverSettings() {
        auto where = serverOptions.directory.location();
        if (!where) {
            return std::string("use either --database or --database-url, not both");
        }
        if (auto problem = serverOptions.checkTrustedProxies(); !problem.empty()) {
            return problem;
        }
        if (auto problem = serverOptions.checkStatusListen(); !problem.empty()) {
            return problem;
        }
        return ServerSettings{serverOptions.finish(), *where, serverOptions.logLevel,
                              serverOptions.bus};
    }

    /// The agent's settings once parsed, or what is wrong with them.
    std::variant<ClientSettings, std::string> clientSettings() {
        if (auto problem = clientOptions.finish(); !problem.empty()) {
            return problem;
        }
        // The flags as given, without the configuration file's: a --slug there wins over it.
        const bool slugFlag = std::any_of(given_.begin(), given_.end(), [](const std::string& a) {
            return a == "--slug" || a.starts_with("--slug=");
        });
        AgentSources sources{lastOptionValue(given_, "config"), slugFlag, clientOptions.tokenFile,
                             tokenOrigin(clientOptions.token), slugStatePath()};
        // A slug set through D-Bus that the agent could not write back wins over the others.
        std::variant<std::optional<SlugState>, std::string> state;
        if (!sources.stateFile.empty()) {
            state = readSlugState(sources.stateFile);
        }
        if (auto* problem = std::get_if<std::string>(&state)) {
            return std::move(*problem);
        }
        if (auto& recorded = std::get<std::optional<SlugState>>(state)) {
            clientOptions.config.slug = std::move(recorded->slug);
            clientOptions.config.token = std::move(recorded->token);
            sources.fromStateFile = true;
        }
        return ClientSettings{clientOptions.config, clientOptions.statusListen,
                              clientOptions.logLevel, clientOptions.bus, std::move(sources)};
    }

private:
    std::vector<std::string> given_;
};

/// The settings read again from the same arguments (a reload), or why they cannot be.
template <typename Settings, typename Read>
std::function<std::variant<Settings, std::string>()> rereader(std::vector<std::string> arguments,
                                                              Read read) {
    return [arguments = std::move(arguments), read]() -> std::variant<Settings, std::string> {
        std::vector<std::string> copy = arguments;
        std::vector<char*> argv;
        argv.reserve(copy.size());
        for (auto& argument : copy) {
            argv.push_back(argument.data());
        }
        auto again = std::make_unique<CommandLine>();
        std::optional<int> exitCode;
        if (auto problem = again->parse(static_cast<int>(argv.size()), argv.data(), exitCode);
            !problem.empty()) {
            return problem;
        }
        return read(*again);
    };
}

}  // namespace

int runCommandLine(int argc, char** argv) {
    // Kept for a reload, before the token is scrubbed from argv.
    const std::vector<std::string> arguments(argv, argv + argc);
    auto commandLine = std::make_unique<CommandLine>();
    CommandLine& line = *commandLine;
    std::optional<int> exitCode;
    if (auto problem = line.parse(argc, argv, exitCode); !problem.empty()) {
        return usageError(problem);
    }
    if (exitCode) {
        return *exitCode;
    }
    if (scrubTokenArgument(argc, argv)) {
        fmt::print(stderr,
                   "nexus-relay: warning: a token on the command line is visible to other "
                   "users (ps); use --token-file or NEXUS_RELAY_TOKEN instead\n");
    }

    if (line.serverCmd->parsed()) {
        auto settings = line.serverSettings();
        if (auto* problem = std::get_if<std::string>(&settings)) {
            return usageError(*problem);
        }
        return runServer(std::get<ServerSettings>(std::move(settings)),
                         rereader<ServerSettings>(
                             arguments, [](CommandLine& again) { return again.serverSettings(); }));
    }
    if (line.clientCmd->parsed()) {
        auto settings = line.clientSettings();
        if (auto* problem = std::get_if<std::string>(&settings)) {
            return usageError(*problem);
        }
        return runClient(std::get<ClientSettings>(std::move(settings)),
                         rereader<ClientSettings>(
                             arguments, [](CommandLine& again) { return again.clientSettings(); }));
    }
    auto where = line.dirOptions.location();
    if (!where) {
        return usageError("use either --database or --database-url, not both");
    }
    if (line.initCmd->parsed()) {
        return directoryInit(*where);
    }
    if (line.addCmd->parsed()) {
        return directoryAdd(
            *where, line.slug,
            line.url.empty() ? "https://" + line.slug + "." + line.domain : line.url);
    }
    if (line.listCmd->parsed()) {
        return directoryList(*where);
    }
    return directoryRevoke(*where, line.slug);
}

}  // namespace nexus

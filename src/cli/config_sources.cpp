// SPDX-License-Identifier: AGPL-3.0-or-later
// Config files (read by CLI11's TOML/INI reader: "name = value" lines, '#' comments) and
// token sources.
#include "cli/config_sources.hpp"

#include "cli/cli_errors.hpp"
#include "common/ascii.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace nexus {
namespace {

// The line of `path` that sets `name`, for messages (CLI11's items carry no line numbers).
int lineOf(const std::string& path, const std::string& name) {
    std::ifstream in(path);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        line = trimmed(line);
        if (line.starts_with(name) && trimmed(line.substr(name.size())).starts_with('=')) {
            return number;
        }
    }
    return 0;
}

// The commands that the leading words of `args` select: "directory add" gives two.
const CLI::App* selectedCommand(const CLI::App& app, const std::vector<std::string>& args,
                                std::size_t& end) {
    const CLI::App* command = &app;
    for (end = 1; end < args.size(); ++end) {
        const auto found = command->get_subcommands(
            [&](const CLI::App* sub) { return sub->get_name() == args[end]; });
        if (found.empty()) {
            break;
        }
        command = found.front();
    }
    return command;
}

std::string readConfig(const CLI::App& command, const std::string& path,
                       std::vector<std::string>& flags) {
    if (!std::ifstream(path)) {
        return "cannot read config file " + path + ": " + std::strerror(errno);
    }
    const auto known = optionNames(command);
    std::vector<CLI::ConfigItem> items;
    try {
        items = CLI::ConfigTOML().from_file(path);
    } catch (const CLI::Error& e) {
        return fmt::format("config file {}: {}", path, e.what());
    }
    for (const auto& item : items) {
        if (item.name == "++" || item.name == "--") {
            continue;  // CLI11's markers for the start and end of a [section]
        }
        // A [client] section in the client's file is the same as no section.
        const bool ownSection = item.parents.size() == 1 && item.parents[0] == command.get_name();
        const std::string name = ownSection ? item.name : item.fullname();
        const auto where = fmt::format("{}:{}", path, lineOf(path, item.name));
        const auto option = command.get_option_no_throw("--" + name);
        if (name == "config" || std::find(known.begin(), known.end(), "--" + name) == known.end()) {
            const auto nearest = nearestName(name, known);
            return fmt::format("{}: unknown setting '{}' for '{}'{}", where, name,
                               command.get_name(),
                               nearest.empty() ? "" : "; did you mean " + nearest.substr(2) + "?");
        }
        const bool repeatable = option != nullptr && option->get_multi_option_policy() ==
                                                         CLI::MultiOptionPolicy::TakeAll;
        if (item.inputs.size() > 1 && !repeatable) {
            return fmt::format("{}: '{}' takes one value (quote it if it holds spaces or commas)",
                               where, name);
        }
        for (const auto& value : item.inputs) {
            flags.push_back(fmt::format("--{}={}", name, value));
        }
    }
    return {};
}

}  // namespace

std::string expandConfigFile(const CLI::App& app, int argc, char** argv,
                             std::vector<std::string>& out) {
    std::vector<std::string> args(argv, argv + argc);
    std::size_t insertAt = 1;
    const CLI::App& command = *selectedCommand(app, args, insertAt);
    std::vector<std::string> fromFile;
    for (std::size_t i = insertAt; i < args.size(); ++i) {
        std::string path;
        if (args[i] == "--config" && i + 1 < args.size()) {
            path = args[i + 1];
        } else if (args[i].starts_with("--config=")) {
            path = args[i].substr(9);
        } else {
            continue;
        }
        if (auto problem = readConfig(command, path, fromFile); !problem.empty()) {
            return problem;
        }
    }
    out.assign(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(insertAt));
    out.insert(out.end(), fromFile.begin(), fromFile.end());
    out.insert(out.end(), args.begin() + static_cast<std::ptrdiff_t>(insertAt), args.end());
    return {};
}

namespace {
std::string readSecretFile(const std::string& path, std::string& out) {
    std::ifstream in(path);
    if (!in) {
        return "cannot read token file " + path + ": " + std::strerror(errno);
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    out = trimmed(buffer.str());
    return out.empty() ? "token file " + path + " is empty" : std::string{};
}
}  // namespace

std::string tokenOrigin(const std::string& flag) {
    if (!flag.empty()) {
        return "--token";
    }
    for (const char* name : {"NEXUS_RELAY_TOKEN", "NODYX_RELAY_TOKEN"}) {
        if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
            return name;
        }
    }
    return "the systemd credential 'token'";
}

std::string lastOptionValue(const std::vector<std::string>& args, const std::string& name) {
    std::string value;
    const std::string flag = "--" + name;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == flag && i + 1 < args.size()) {
            value = args[i + 1];
        } else if (args[i].starts_with(flag + "=")) {
            value = args[i].substr(flag.size() + 1);
        }
    }
    return value;
}

std::string resolveToken(const std::string& flag, const std::string& file, std::string& out) {
    if (!file.empty()) {
        return readSecretFile(file, out);
    }
    if (!flag.empty()) {
        out = flag;
        return {};
    }
    for (const char* name : {"NEXUS_RELAY_TOKEN", "NODYX_RELAY_TOKEN"}) {
        if (const char* value = std::getenv(name); value != nullptr && *value != '\0') {
            out = trimmed(value);
            return {};
        }
    }
    if (const char* credentials = std::getenv("CREDENTIALS_DIRECTORY"); credentials != nullptr) {
        return readSecretFile(std::string(credentials) + "/token", out);
    }
    return "no token: use --token-file FILE, NEXUS_RELAY_TOKEN or --token";
}

}  // namespace nexus

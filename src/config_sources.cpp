// SPDX-License-Identifier: AGPL-3.0-or-later
// Config files ("name = value" lines, '#' comments) and token sources.
#include "config_sources.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace nexus {
namespace {

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

std::string unquote(std::string value) {
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
        return value.substr(1, value.size() - 2);
    }
    return value;
}

std::string readConfig(const std::string& path, std::vector<std::string>& flags) {
    std::ifstream in(path);
    if (!in) {
        return "cannot read config file " + path + ": " + std::strerror(errno);
    }
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        line = trim(line);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const auto equals = line.find('=');
        if (equals == std::string::npos) {
            return fmt::format("{}:{}: expected 'name = value'", path, number);
        }
        const std::string name = trim(line.substr(0, equals));
        const std::string value = unquote(trim(line.substr(equals + 1)));
        if (name.empty() || name == "config") {
            return fmt::format("{}:{}: invalid name '{}'", path, number, name);
        }
        flags.push_back(fmt::format("--{}={}", name, value));
    }
    return {};
}

}  // namespace

std::string expandConfigFile(int argc, char** argv, std::vector<std::string>& out) {
    std::vector<std::string> args(argv, argv + argc);
    std::vector<std::string> fromFile;
    std::size_t insertAt = 1;
    // Subcommands are the leading words before the first flag ("directory add" has two).
    while (insertAt < args.size() && !args[insertAt].starts_with('-') && insertAt < 3) {
        ++insertAt;
    }
    for (std::size_t i = 1; i < args.size(); ++i) {
        std::string path;
        if (args[i] == "--config" && i + 1 < args.size()) {
            path = args[i + 1];
        } else if (args[i].starts_with("--config=")) {
            path = args[i].substr(9);
        } else {
            continue;
        }
        if (auto problem = readConfig(path, fromFile); !problem.empty()) {
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
    out = trim(buffer.str());
    return out.empty() ? "token file " + path + " is empty" : std::string{};
}
}  // namespace

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
            out = trim(value);
            return {};
        }
    }
    if (const char* credentials = std::getenv("CREDENTIALS_DIRECTORY"); credentials != nullptr) {
        return readSecretFile(std::string(credentials) + "/token", out);
    }
    return "no token: use --token-file FILE, NEXUS_RELAY_TOKEN or --token";
}

}  // namespace nexus

// SPDX-License-Identifier: AGPL-3.0-or-later
// slug.conf in the agent's state directory: written by slug_store, read at start.
#include "daemon/slug_state.hpp"

#include "common/ascii.hpp"
#include "directory/directory.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace nexus {

namespace {
// One line of the record into `state`; what is wrong with it, or an empty string.
std::string readLine(const std::string& line, SlugState& state) {
    const auto equals = line.find('=');
    if (equals == std::string::npos) {
        return "expected 'slug = SLUG' or 'token = TOKEN'";
    }
    const auto key = trimmed(line.substr(0, equals));
    const auto value = trimmed(line.substr(equals + 1));
    std::string* field = key == "slug" ? &state.slug : key == "token" ? &state.token : nullptr;
    if (field == nullptr) {
        return fmt::format("unknown setting '{}'", key);
    }
    if (!field->empty()) {
        return fmt::format("{} is set twice", key);
    }
    if (value.empty()) {
        return fmt::format("{} is empty", key);
    }
    if (field == &state.slug && !directory::isValidSlug(value)) {
        return fmt::format("'{}' is not a valid slug", value);
    }
    *field = value;
    return {};
}
}  // namespace

std::string slugStatePath() {
    const char* directories = std::getenv("STATE_DIRECTORY");
    if (directories == nullptr || *directories == '\0') {
        return {};
    }
    const std::string first(directories, std::strcspn(directories, ":"));
    return first.empty() ? std::string() : first + "/slug.conf";
}

std::string slugStateText(const SlugState& state) {
    return fmt::format(
        "# Set by nexusctl set-slug; the agent uses it in place of its configuration's slug and\n"
        "# token. Remove this file (and restart the agent) to go back to the configuration.\n"
        "slug = {}\ntoken = {}\n",
        state.slug, state.token);
}

std::variant<std::optional<SlugState>, std::string> readSlugState(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        if (errno == ENOENT) {
            return std::optional<SlugState>();
        }
        return fmt::format("cannot read {}: {}", path, std::strerror(errno));
    }
    SlugState state;
    int number = 0;
    for (std::string line; std::getline(in, line);) {
        ++number;
        const auto text = trimmed(line);
        if (text.empty() || text.front() == '#') {
            continue;
        }
        if (auto problem = readLine(text, state); !problem.empty()) {
            return fmt::format("{}:{}: {}", path, number, problem);
        }
    }
    if (in.bad()) {
        return fmt::format("cannot read {}: {}", path, std::strerror(errno));
    }
    if (state.slug.empty() || state.token.empty()) {
        return fmt::format(
            "{}: no {} (expected 'slug = SLUG' and 'token = TOKEN'; remove the file "
            "to use the configuration's)",
            path, state.slug.empty() ? "slug" : "token");
    }
    return std::optional<SlugState>(std::move(state));
}

}  // namespace nexus

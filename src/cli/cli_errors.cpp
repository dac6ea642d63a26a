// SPDX-License-Identifier: AGPL-3.0-or-later
// Usage errors (cli_errors.hpp). CLI11 checks requirements before it reports arguments it did
// not recognise, so `client --slugg demo` would say "--slug is required": the leftovers are
// looked at first here, whatever error the parse ended with.
#include "cli/cli_errors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

namespace nexus {
namespace {

// Optimal string alignment distance: a swapped pair of letters counts as one edit.
std::size_t editDistance(const std::string& a, const std::string& b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) {
        d[i][0] = i;
    }
    std::iota(d[0].begin(), d[0].end(), std::size_t{0});
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

std::string withoutDashes(const std::string& name) {
    return name.substr(std::min(name.find_first_not_of('-'), name.size()));
}

// The commands the parse went into: the program, then each subcommand it selected.
std::vector<const CLI::App*> selectedChain(const CLI::App& app) {
    std::vector<const CLI::App*> chain{&app};
    while (!chain.back()->get_subcommands().empty()) {
        chain.push_back(chain.back()->get_subcommands().front());
    }
    return chain;
}

std::string commandPath(const std::vector<const CLI::App*>& chain) {
    std::string path;
    for (const auto* command : chain) {
        path += (path.empty() ? "" : " ") + command->get_name();
    }
    return path;
}

std::string suggestion(const std::string& typed, const std::vector<std::string>& known) {
    const std::string nearest = nearestName(typed, known);
    return nearest.empty() ? std::string() : fmt::format("; did you mean {}?", nearest);
}

std::string explainLeftover(const std::vector<const CLI::App*>& chain,
                            const std::string& leftover) {
    const CLI::App& command = *chain.back();
    const std::string where = commandPath(chain);
    if (leftover.starts_with('-')) {
        const std::string typed = leftover.substr(0, leftover.find('='));
        return fmt::format("unknown option {} for '{}'{}", typed, where,
                           suggestion(typed, optionNames(command)));
    }
    const auto subcommands = command.get_subcommands([](const CLI::App*) { return true; });
    if (subcommands.empty()) {
        return fmt::format("unexpected argument '{}' for '{}'", leftover, where);
    }
    std::vector<std::string> names;
    names.reserve(subcommands.size());
    for (const auto* sub : subcommands) {
        names.push_back(sub->get_name());
    }
    return fmt::format("unknown command '{}' for '{}'{}", leftover, where,
                       suggestion(leftover, names));
}

}  // namespace

std::string nearestName(const std::string& typed, const std::vector<std::string>& known) {
    const std::string bare = withoutDashes(typed);
    std::string best;
    std::size_t bestDistance = std::max<std::size_t>(2, bare.size() / 3) + 1;
    for (const auto& name : known) {
        const std::size_t distance = editDistance(bare, withoutDashes(name));
        if (distance < bestDistance) {
            best = name;
            bestDistance = distance;
        }
    }
    return best;
}

std::vector<std::string> optionNames(const CLI::App& command) {
    std::vector<std::string> names;
    for (const CLI::App* app = &command; app != nullptr; app = app->get_parent()) {
        for (const auto* option : app->get_options()) {
            for (const auto& name : option->get_lnames()) {
                names.push_back("--" + name);
            }
        }
        if (!app->get_fallthrough()) {
            break;
        }
    }
    return names;
}

std::string explainParseError(const CLI::App& app, const CLI::ParseError& error) {
    const auto chain = selectedChain(app);
    // The deepest command holds what nobody recognised; a parent may hold what fell through.
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        const auto leftovers = (*it)->remaining(false);
        if (!leftovers.empty()) {
            return explainLeftover(chain, leftovers.front());
        }
    }
    std::string message = error.what();
    if (dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr) {
        // CLI11 says "--config: 1 required TEXT missing".
        return fmt::format("{} needs a value", message.substr(0, message.find(':')));
    }
    if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr &&
        message.starts_with("A subcommand is required")) {
        std::vector<std::string> names;
        for (const auto* sub :
             chain.back()->get_subcommands([](const CLI::App*) { return true; })) {
            names.push_back(sub->get_name());
        }
        return fmt::format("'{}' needs a command: {} (see --help)", commandPath(chain),
                           fmt::join(names, ", "));
    }
    return message;
}

}  // namespace nexus

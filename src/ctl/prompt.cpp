// SPDX-License-Identifier: AGPL-3.0-or-later
#include "ctl/prompt.hpp"

#include "ctl/proxies.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

namespace nexus::ctl {

bool onTerminal() {
    return ::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1;
}

std::string ask(const std::string& question, const std::string& byDefault) {
    fmt::print("{}{}: ", question, byDefault.empty() ? "" : " [" + byDefault + "]");
    std::fflush(stdout);
    std::string line;
    if (!std::getline(std::cin, line)) {
        fmt::print("\n");
        throw Failure(Exit::Failed, "setup cancelled; nothing changed");
    }
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos) {
        return byDefault;
    }
    return line.substr(first, line.find_last_not_of(" \t") - first + 1);
}

bool confirm(const std::string& question) {
    const auto answer = ask(question + " [Y/n]");
    return answer.empty() || answer == "y" || answer == "Y" || answer == "yes";
}

}  // namespace nexus::ctl

// SPDX-License-Identifier: AGPL-3.0-or-later
#include "ctl/systemctl.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <fmt/ranges.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace nexus::ctl {

namespace {
// The last non-empty line of `output`: systemctl's reason comes last.
std::string lastLine(std::string output) {
    while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) {
        output.pop_back();
    }
    const auto newline = output.rfind('\n');
    return newline == std::string::npos ? output : output.substr(newline + 1);
}
}  // namespace

std::string Systemctl::run(const std::vector<std::string>& args) const {
    std::vector<std::string> words{program_};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    argv.reserve(words.size() + 1);
    for (auto& word : words) {
        argv.push_back(word.data());
    }
    argv.push_back(nullptr);
    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC) != 0) {
        return fmt::format("cannot run {}: {}", program_, std::strerror(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipeFds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, pipeFds[1], STDERR_FILENO);
    pid_t pid = 0;
    const int spawned =
        ::posix_spawnp(&pid, program_.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipeFds[1]);
    if (spawned != 0) {
        ::close(pipeFds[0]);
        return fmt::format("cannot run {}: {}", program_, std::strerror(spawned));
    }
    std::string output;
    char buffer[4096];
    for (ssize_t n; (n = ::read(pipeFds[0], buffer, sizeof buffer)) != 0;) {
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            break;
        }
        if (output.size() < 64 * 1024) {  // what it says is kept bounded, and read to the end
            output.append(buffer, static_cast<std::size_t>(n));
        }
    }
    ::close(pipeFds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return {};
    }
    auto line = lastLine(output);
    const auto command = fmt::format("{} {}", program_, fmt::join(args, " "));
    return line.empty() ? fmt::format("{} failed", command) : fmt::format("{}: {}", command, line);
}

}  // namespace nexus::ctl

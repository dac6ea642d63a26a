// SPDX-License-Identifier: AGPL-3.0-or-later
// The failure handler of spawned coroutines.
#include "net/spawn.hpp"

#include <cstdio>
#include <string>

namespace nexus::net {

namespace {
FailureHandler& handler() {
    static FailureHandler installed;  // set once at start, read on the loop thread
    return installed;
}
}  // namespace

void setFailureHandler(FailureHandler next) {
    handler() = std::move(next);
}

std::string describeFailure(std::exception_ptr failure) {
    try {
        std::rethrow_exception(std::move(failure));
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "an exception of unknown type";
    }
}

void reportFailure(std::string_view what, std::exception_ptr failure) noexcept {
    try {
        if (const auto& installed = handler()) {
            installed(what, failure);
            return;
        }
        const std::string line = "error Unexpected failure in " + std::string(what) + ": " +
                                 describeFailure(failure) + "\n";
        std::fwrite(line.data(), 1, line.size(), stderr);
    } catch (...) {  // NOLINT(bugprone-empty-catch): nothing is left to report it with
    }
}

}  // namespace nexus::net

// SPDX-License-Identifier: AGPL-3.0-or-later
// setup's way of enabling and starting the agent: the systemctl program, not systemd's D-Bus
// API. `systemctl enable --now` is enable (with its [Install] logic and the reload it needs),
// start, and a wait for the start job's result with systemd's own error line; over D-Bus that
// is EnableUnitFiles, Reload, StartUnit and a JobRemoved subscription, four places to get
// wrong. A test runs another program in its place.
#pragma once

#include <string>
#include <vector>

namespace nexus::ctl {

class Systemctl {
public:
    explicit Systemctl(std::string program) : program_(std::move(program)) {}

    /// Runs `program ARGS...`; an empty string when it exited 0, else one line with its last
    /// line of output (or how it failed to run).
    std::string run(const std::vector<std::string>& args) const;
    bool isActive(const std::string& unit) const {
        return run({"is-active", "--quiet", unit}).empty();
    }
    const std::string& program() const { return program_; }

private:
    std::string program_;
};

}  // namespace nexus::ctl

// SPDX-License-Identifier: AGPL-3.0-or-later
// The end of setup: the agent registered (its State over D-Bus, as nexusctl status reads it)
// and the public URL answering through the tunnel, both by one deadline.
#include "ctl/https_client.hpp"
#include "ctl/proxies.hpp"
#include "ctl/setup.hpp"

#include <fmt/format.h>

#include <thread>

namespace nexus::ctl {

namespace {
using Clock = std::chrono::steady_clock;

struct AgentView {
    std::string state;
    std::string lastError;
};

// The agent's state, or an empty state while it is not (yet) on the bus.
AgentView agentView(bool userBus) {
    try {
        auto bus =
            userBus ? sdbus::createSessionBusConnection() : sdbus::createSystemBusConnection();
        ClientProxy proxy(*bus);
        const auto properties = proxy.all();
        AgentView view;
        if (auto found = properties.find("State"); found != properties.end()) {
            view.state = found->second.get<std::string>();
        }
        if (auto found = properties.find("LastError"); found != properties.end()) {
            view.lastError = found->second.get<std::string>();
        }
        return view;
    } catch (const sdbus::Error&) {
        return {};
    }
}

// Answers the relay or its proxy give while no tunnel serves the slug.
bool throughTunnel(long status) {
    return status >= 200 && status < 600 && status != 404 && status != 502 && status != 503 &&
           status != 504;
}
}  // namespace

void waitOnline(const SetupOptions& options, const std::string& publicUrl) {
    const auto deadline = Clock::now() + std::chrono::seconds(options.timeoutSeconds);
    fmt::print("Waiting for the agent to connect...\n");
    std::fflush(stdout);
    AgentView view;
    while ((view = agentView(options.userBus)).state != "registered") {
        if (view.state == "rejected") {
            throw Failure(Exit::Failed,
                          fmt::format("the relay refused the agent: {}; see journalctl -u {}",
                                      view.lastError, options.paths.unit));
        }
        if (Clock::now() >= deadline) {
            throw Failure(Exit::Failed,
                          fmt::format("the agent did not connect within {} s (state {}{}); "
                                      "see journalctl -u {}",
                                      options.timeoutSeconds,
                                      view.state.empty() ? "not on the bus" : view.state,
                                      view.lastError.empty() ? "" : ", " + view.lastError,
                                      options.paths.unit));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    HttpsClient https(options.https);
    HttpsResult answer;
    for (;;) {
        answer = https.get(publicUrl, std::chrono::seconds(8));
        if (answer.error.empty() && throughTunnel(answer.status)) {
            return;
        }
        if (Clock::now() >= deadline) {
            throw Failure(Exit::Failed,
                          fmt::format("the agent is connected but {} did not answer through "
                                      "the tunnel within {} s ({})",
                                      publicUrl, options.timeoutSeconds,
                                      answer.error.empty() ? fmt::format("HTTP {}", answer.status)
                                                           : answer.error));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
}

}  // namespace nexus::ctl

// SPDX-License-Identifier: AGPL-3.0-or-later
#include "ctl/setup_steps.hpp"

#include "ctl/directory_registration.hpp"
#include "ctl/prompt.hpp"
#include "ctl/proxies.hpp"
#include "ctl/systemctl.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <sys/stat.h>

namespace nexus::ctl {

namespace {
constexpr auto kProbeTimeout = std::chrono::seconds(8);  // the 0.1.x installer's

// "https://host[:port]" into host and port text ("" for 443); false when it is not that.
bool splitHttps(const std::string& url, std::string& host, std::string& port) {
    if (!url.starts_with("https://")) {
        return false;
    }
    auto rest = url.substr(8);
    if (rest.empty() || rest.find_first_of("/?#@") != std::string::npos) {
        return false;
    }
    host = rest;
    port.clear();
    if (const auto colon = rest.rfind(':');
        colon != std::string::npos && rest.find(']', colon) == std::string::npos) {
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
        if (port == "443") {
            port.clear();
        }
    }
    return !host.empty();
}

bool parsePort(const std::string& text, unsigned& port) {
    const auto* end = text.data() + text.size();
    const auto [at, ec] = std::from_chars(text.data(), end, port);
    return ec == std::errc{} && at == end && port > 0 && port <= 65535;
}

std::string writableProblem(const std::string& path) {
    // The file's directory, or the nearest one that exists when setup will create it.
    auto directory = path.substr(0, path.rfind('/'));
    struct stat st {};
    while (!directory.empty() && ::stat(directory.c_str(), &st) != 0) {
        directory = directory.substr(0, directory.rfind('/'));
    }
    if (!directory.empty() && !S_ISDIR(st.st_mode)) {
        return fmt::format("cannot write {}: {} is not a directory", path, directory);
    }
    if (::access(directory.empty() ? "/" : directory.c_str(), W_OK) != 0) {
        return fmt::format(
            "cannot write {}: {} is not writable (run as root: sudo nexusctl "
            "setup)",
            path, directory.empty() ? "/" : directory);
    }
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        return fmt::format("cannot write {}: it is not a regular file", path);
    }
    return {};
}
}  // namespace

std::string domainOf(const SetupOptions& options) {
    if (!options.domain.empty()) {
        return options.domain;
    }
    std::string host, port;
    splitHttps(options.directory, host, port);
    return host;
}

std::string publicUrl(const SetupOptions& options, const std::string& subdomain) {
    std::string host, port;
    splitHttps(options.directory, host, port);
    const auto name = subdomain.empty() ? options.slug + "." + domainOf(options) : subdomain;
    return fmt::format("https://{}{}/", name, port.empty() ? "" : ":" + port);
}

bool parseLocal(const std::string& text, std::string& host, unsigned& port) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        return false;
    }
    unsigned parsed = 0;
    if (!parsePort(text.substr(colon + 1), parsed)) {
        return false;
    }
    host = text.substr(0, colon);
    port = parsed;
    return true;
}

void checkOptions(const SetupOptions& options) {
    std::string host, port;
    if (!splitHttps(options.directory, host, port)) {
        throw Failure(Exit::Usage,
                      "--directory must be https://HOST[:PORT], got '" + options.directory + "'");
    }
    std::string relayHost;
    unsigned relayPort = 0;
    if (!parseLocal(options.relay, relayHost, relayPort)) {
        throw Failure(Exit::Usage, "--relay must be HOST:PORT, e.g. relay.nexusnode.app:7443");
    }
    if (!options.https.caFile.empty() && ::access(options.https.caFile.c_str(), R_OK) != 0) {
        throw Failure(Exit::Usage, "cannot read --ca-file " + options.https.caFile);
    }
}

void checkWritable(const SetupPaths& paths, bool dryRun) {
    for (const auto& file : {paths.tokenFile(), paths.clientConf()}) {
        if (auto problem = writableProblem(file); !problem.empty()) {
            throw Failure(dryRun ? Exit::Usage : Exit::AccessDenied, problem);
        }
    }
}

void checkNotConfigured(const SetupPaths& paths, bool interactive, bool yes) {
    struct stat st {};
    if (yes || ::stat(paths.tokenFile().c_str(), &st) != 0 || st.st_size == 0) {
        return;
    }
    if (!interactive) {
        throw Failure(Exit::Failed, fmt::format("the agent is already set up ({} exists); "
                                                "--yes replaces it",
                                                paths.tokenFile()));
    }
    if (!confirm(fmt::format("The agent is already set up ({} exists). Replace it?",
                             paths.tokenFile()))) {
        throw Failure(Exit::Failed, "setup cancelled; nothing changed");
    }
}

Door probeDoor(HttpsClient& https, const SetupOptions& options) {
    std::string host;
    unsigned port = 0;
    parseLocal(options.relay, host, port);
    std::string error;
    auto door = probeRelay(https, host, port, kProbeTimeout, error);
    if (!door) {
        throw Failure(Exit::Unreachable, error + "; nothing changed");
    }
    return *door;
}

void printPlan(const SetupOptions& options, const AgentSettings& settings) {
    std::string error;
    const auto conf = renderClientConf(settings, error);
    fmt::print("Would register: POST {}/api/directory/register {}\n", options.directory,
               registrationBody({options.directory, options.name, options.slug,
                                 "https://" + options.slug + "." + domainOf(options)}));
    fmt::print("Would write: {} (the token, mode 0600)\n", options.paths.tokenFile());
    fmt::print("Would write: {} (mode 0644):\n{}", options.paths.clientConf(), conf);
    fmt::print("Would run: {} enable --now {}\n", options.paths.systemctl, options.paths.unit);
    fmt::print("Would wait for {}\n", publicUrl(options, {}));
}

void writeAgentFiles(FileChanges& changes, const SetupPaths& paths, const AgentSettings& settings,
                     const std::string& token) {
    std::string error;
    const auto conf = renderClientConf(settings, error);
    if (conf.empty()) {
        throw Failure(Exit::Usage, error);
    }
    for (const auto& [path, content, mode] :
         {std::tuple{paths.tokenFile(), token + "\n", mode_t{0600}},
          std::tuple{paths.clientConf(), conf, mode_t{0644}}}) {
        if (auto problem = changes.write(path, content, mode); !problem.empty()) {
            changes.rollback();
            throw Failure(Exit::AccessDenied, problem + "; nothing changed");
        }
    }
}

void startAgent(const SetupPaths& paths, bool restart) {
    const Systemctl systemctl(paths.systemctl);
    std::string problem;
    if (restart || systemctl.isActive(paths.unit)) {
        problem = systemctl.run({"enable", paths.unit});
        if (problem.empty()) {
            problem = systemctl.run({"restart", paths.unit});
        }
    } else {
        problem = systemctl.run({"enable", "--now", paths.unit});
    }
    if (!problem.empty()) {
        throw Failure(Exit::Failed, problem + "; the files setup wrote are rolled back");
    }
}

SlugLease::~SlugLease() {
    if (kept_) {
        return;
    }
    if (auto problem = unregisterSlug(https_, directory_, slug_, token_); !problem.empty()) {
        fmt::print(stderr, "nexusctl: slug '{}' stays registered in {} ({})\n", slug_, directory_,
                   problem);
    }
}

}  // namespace nexus::ctl

// SPDX-License-Identifier: AGPL-3.0-or-later
// setup --import: the 0.1.x install (a hand-written unit with the token on its ExecStart
// line, the binary in /usr/local/bin, the updater that puts 0.1.4 back) becomes the package's:
// token in the credential file, same relay, slug and local port in client.conf, the packaged
// unit in charge, and the updater disarmed.
#include "ctl/agent_settings.hpp"
#include "ctl/file_changes.hpp"
#include "ctl/legacy_install.hpp"
#include "ctl/proxies.hpp"
#include "ctl/setup.hpp"
#include "ctl/setup_steps.hpp"
#include "ctl/systemctl.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

namespace nexus::ctl {

namespace {
bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

struct LegacyPaths {
    std::string unit, wants, binary, credentials;
    std::vector<std::string> updaters;
    std::string packagedUnit;  ///< empty when the package's unit is not installed
};

LegacyPaths legacyPaths(const SetupPaths& paths) {
    LegacyPaths out{
        paths.under("/etc/systemd/system/" + paths.unit),
        paths.under("/etc/systemd/system/multi-user.target.wants/" + paths.unit),
        paths.under("/usr/local/bin/nexus-relay"),
        paths.under("/root/nexus-credentials.txt"),
        {paths.under("/usr/local/bin/nodyx-update"), paths.under("/usr/local/bin/nexus-update")},
        {}};
    for (const auto* dir : {"/lib/systemd/system/", "/usr/lib/systemd/system/"}) {
        if (exists(paths.under(dir + paths.unit))) {
            out.packagedUnit = paths.under(dir + paths.unit);
            break;
        }
    }
    return out;
}

std::string updaterStub(const std::string& name, const std::string& original) {
    return fmt::format(
        "#!/bin/sh\n"
        "# {0}, disarmed by `nexusctl setup --import`: it compared `nexus-relay --version`\n"
        "# with 0.1.4, downloaded that release over a mismatch into /usr/local/bin and wrote\n"
        "# a unit with the token on its command line, undoing the package.\n"
        "echo \"{0}: nexus-relay is managed by its Debian package now (apt upgrade).\" >&2\n"
        "echo \"{0}: the original script is kept, not executable, in {1}\" >&2\n"
        "exit 1\n",
        name, original);
}

struct Legacy {
    AgentSettings settings;
    std::string token;
    std::string domain;  ///< of the public URL, SLUG.DOMAIN
};

// The agent's settings and token from the old unit, the credentials file filling in a token
// the unit lacks.
Legacy readLegacy(const LegacyPaths& legacy, const SetupOptions& options) {
    std::string error;
    const auto text = readSmallFile(legacy.unit, error);
    if (!error.empty()) {
        throw Failure(Exit::Failed, "no 0.1.x install to import: " + error);
    }
    const auto unit = parseLegacyUnit(text, error);
    if (!unit) {
        throw Failure(Exit::Failed, fmt::format("cannot import {}: {}", legacy.unit, error));
    }
    auto token = unit->token;
    const auto credentials =
        exists(legacy.credentials) ? readSmallFile(legacy.credentials, error) : "";
    if (token.empty()) {
        token = credentialsValue(credentials, "Directory token");
    }
    if (token.empty()) {
        throw Failure(Exit::Failed, fmt::format("cannot import: no --token on the ExecStart "
                                                "line of {} and no 'Directory token' in {}",
                                                legacy.unit, legacy.credentials));
    }
    AgentSettings settings{unit->server, unit->slug,
                           unit->localHost.empty() ? "127.0.0.1" : unit->localHost, unit->localPort,
                           options.https.caFile};
    auto domain = options.domain.empty() ? legacyDomain(*unit, credentialsValue(credentials, "URL"))
                                         : options.domain;
    return {settings, token, domain};
}
}  // namespace

void importLegacy(SetupOptions options) {
    const auto legacy = legacyPaths(options.paths);
    const auto [settings, token, domain] = readLegacy(legacy, options);
    if (legacy.packagedUnit.empty()) {
        throw Failure(Exit::Failed, fmt::format("the packaged {} is not installed (apt install "
                                                "nexus-relay); nothing changed",
                                                options.paths.unit));
    }
    checkWritable(options.paths, options.dryRun);
    std::vector<std::string> updaters;
    for (const auto& updater : legacy.updaters) {
        if (exists(updater)) {
            updaters.push_back(updater);
        }
    }
    fmt::print("Found the 0.1.x agent: slug {}, relay {}, local {}:{}\n", settings.slug,
               settings.server, settings.localHost, settings.localPort);
    if (options.dryRun) {
        fmt::print("Would write: {} (the token from {}, mode 0600)\n", options.paths.tokenFile(),
                   legacy.unit);
        fmt::print("Would write: {}\n", options.paths.clientConf());
        for (const auto& path : {legacy.unit, legacy.wants, legacy.binary}) {
            if (exists(path)) {
                fmt::print("Would remove: {}\n", path);
            }
        }
        for (const auto& updater : updaters) {
            fmt::print("Would disarm: {}\n", updater);
        }
        fmt::print("Would run: {0} daemon-reload; {0} enable {1}; {0} restart {1}\n",
                   options.paths.systemctl, options.paths.unit);
        return;
    }

    FileChanges changes;
    writeAgentFiles(changes, options.paths, settings, token);
    auto must = [&changes](const std::string& problem) {
        if (!problem.empty()) {
            changes.rollback();
            throw Failure(Exit::AccessDenied, problem + "; nothing changed");
        }
    };
    for (const auto& path : {legacy.unit, legacy.wants, legacy.binary}) {
        must(changes.remove(path));
    }
    std::vector<std::string> keptUpdaters;
    for (const auto& updater : updaters) {
        const auto kept = updater + ".replaced-by-nexus-relay";
        must(changes.rename(updater, kept));
        const auto name = updater.substr(updater.rfind('/') + 1);
        must(changes.write(updater, updaterStub(name, kept.substr(options.paths.root.size())),
                           0755));
        keptUpdaters.push_back(kept);
    }
    const Systemctl systemctl(options.paths.systemctl);
    if (auto problem = systemctl.run({"daemon-reload"}); !problem.empty()) {
        changes.rollback();
        throw Failure(Exit::Failed, problem + "; nothing changed");
    }
    try {
        startAgent(options.paths, /*restart=*/true);
    } catch (const Failure&) {
        changes.rollback();
        systemctl.run({"daemon-reload"});  // back to the old unit, which the rollback restored
        throw;
    }
    changes.commit();
    for (const auto& kept : keptUpdaters) {
        ::chmod(kept.c_str(), 0644);
    }
    fmt::print("Token moved to {}; settings in {}\n", options.paths.tokenFile(),
               options.paths.clientConf());
    fmt::print("Removed the hand-written {} and {}: the packaged {} runs the agent\n", legacy.unit,
               legacy.binary, legacy.packagedUnit);
    for (const auto& updater : updaters) {
        fmt::print(
            "Disarmed {}: it would have put nexus-relay 0.1.4 back; the package "
            "updates the agent now (apt upgrade)\n",
            updater);
    }
    if (exists(legacy.credentials)) {
        fmt::print(
            "{} still holds the old token; it is the same token, kept in a 0600 "
            "file\n",
            legacy.credentials);
    }
    const auto url = fmt::format("https://{}.{}/", settings.slug, domain);
    if (options.wait) {
        waitOnline(options, url);
        fmt::print("Online: {}\n", url);
    }
}

}  // namespace nexus::ctl

// SPDX-License-Identifier: AGPL-3.0-or-later
// nexusctl: check and steer nexus-relay's agent and relay over D-Bus, as hostnamectl does
// systemd-hostnamed. A pure bus client: it knows nothing of the daemons but their interfaces.
#include "ctl/commands.hpp"
#include "ctl/proxies.hpp"
#include "ctl/setup.hpp"
#include "nexus_config.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace {
using nexus::ctl::Exit;

CLI::App* addSetup(CLI::App& app, nexus::ctl::SetupOptions& o, bool& importLegacy) {
    auto* setup = app.add_subcommand(
        "setup", "Register a slug, configure and start the agent, wait for the public URL");
    setup->add_flag("--import", importLegacy,
                    "Move a 0.1.x install (token in a hand-written unit) to the package");
    setup->add_option("--slug", o.slug, "The slug: the site is SLUG.DOMAIN");
    setup->add_option("--name", o.name, "The instance's name in the directory (default: slug)");
    setup->add_option("--relay", o.relay, "The relay's control address")->capture_default_str();
    setup->add_option("--directory", o.directory, "The directory's base URL")
        ->capture_default_str();
    setup->add_option("--domain", o.domain, "The public domain (default: the directory's host)");
    setup->add_option("--local-host", o.localHost, "Address of the local web server")
        ->capture_default_str();
    setup->add_option("--local-port", o.localPort, "Port of the local web server")
        ->capture_default_str()
        ->check(CLI::Range(1, 65535));
    setup
        ->add_option("--ca-file", o.https.caFile,
                     "A private CA for the relay's and the directory's certificates")
        ->check(CLI::ExistingFile);
    setup->add_flag("-y,--yes", o.yes, "Ask nothing: replace an existing setup, take defaults");
    setup->add_flag("--dry-run", o.dryRun,
                    "Probe the relay, then print what would be registered, written, enabled");
    setup->add_flag("!--no-wait", o.wait, "Do not wait for the agent and the public URL");
    setup
        ->add_option("--timeout", o.timeoutSeconds,
                     "Seconds to wait for the agent and the public URL")
        ->capture_default_str();
    // For tests and images: another root for every file, another unit and systemctl.
    setup->add_option("--root", o.paths.root)->group("");
    setup->add_option("--unit", o.paths.unit)->group("");
    setup->add_option("--systemctl", o.paths.systemctl)->group("");
    return setup;
}

int run(int argc, char** argv) {
    CLI::App app{"Check and steer nexus-relay's agent and relay over D-Bus", "nexusctl"};
    app.set_version_flag("--version", std::string("nexusctl ") + NEXUS_VERSION);
    app.require_subcommand(1);
    nexus::ctl::Options options;
    app.add_flag("--user", options.user, "Use the session bus (daemons run with --bus session)");

    auto* status = app.add_subcommand("status", "Show the agent's state, relay and counters");
    bool follow = false;
    status->add_flag("--json", options.json, "One JSON object, keyed by property name");
    status->add_flag("--watch", follow, "Then print each state change until interrupted");
    app.add_subcommand("reconnect", "Make the agent drop its session and dial the relay now");
    std::string slug, tokenFile;
    auto* setSlug =
        app.add_subcommand("set-slug", "Move the agent to another slug, kept if the relay accepts");
    setSlug->add_option("SLUG", slug, "The new slug")->required();
    setSlug->add_option("--token-file", tokenFile, "File holding the new slug's token")->required();
    auto* tunnels = app.add_subcommand("tunnels", "List the relay's live tunnels");
    tunnels->add_flag("--json", options.json, "A JSON array, one object per tunnel");
    auto* disconnect = app.add_subcommand("disconnect", "Drop a tunnel (its agent reconnects)");
    disconnect->add_option("SLUG", slug, "The tunnel's slug")->required();
    auto* revoke = app.add_subcommand("revoke", "Revoke a slug in the directory and drop it");
    revoke->add_option("SLUG", slug, "The slug to revoke")->required();

    nexus::ctl::SetupOptions setupOptions;
    bool importLegacy = false;
    auto* setup = addSetup(app, setupOptions, importLegacy);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return e.get_exit_code() == 0 ? app.exit(e) : (app.exit(e), static_cast<int>(Exit::Usage));
    }
    if (setup->parsed()) {
        setupOptions.userBus = options.user;
        importLegacy ? nexus::ctl::importLegacy(setupOptions) : nexus::ctl::setup(setupOptions);
    } else if (status->parsed()) {
        follow ? nexus::ctl::watch(options) : nexus::ctl::status(options);
    } else if (app.got_subcommand("reconnect")) {
        nexus::ctl::reconnect(options);
    } else if (setSlug->parsed()) {
        nexus::ctl::setSlug(options, slug, tokenFile);
    } else if (tunnels->parsed()) {
        nexus::ctl::tunnels(options);
    } else if (disconnect->parsed()) {
        nexus::ctl::disconnect(options, slug);
    } else if (revoke->parsed()) {
        nexus::ctl::revoke(options, slug);
    }
    return static_cast<int>(Exit::Ok);
}
}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const nexus::ctl::Failure& failure) {
        fmt::print(stderr, "nexusctl: {}\n", failure.what());
        return static_cast<int>(failure.code);
    }
}

// SPDX-License-Identifier: AGPL-3.0-or-later
// Every check and the registration come before the first write; the writes are one
// FileChanges, rolled back (and the slug given back to the directory) if a later step fails.
#include "ctl/setup.hpp"

#include "ctl/agent_settings.hpp"
#include "ctl/directory_registration.hpp"
#include "ctl/file_changes.hpp"
#include "ctl/prompt.hpp"
#include "ctl/proxies.hpp"
#include "ctl/relay_probe.hpp"
#include "ctl/setup_steps.hpp"
#include "ctl/systemctl.hpp"

#include <fmt/format.h>

namespace nexus::ctl {

namespace {
void askMissing(SetupOptions& options) {
    while (!validSlug(options.slug)) {
        if (!options.slug.empty()) {
            fmt::print(
                "'{}' is not a slug: 3 to 63 lowercase letters, digits and inner "
                "hyphens.\n",
                options.slug);
        }
        options.slug = ask("Slug (your site will be SLUG." + domainOf(options) + ")");
    }
    options.name = ask("Name of the instance", options.name.empty() ? options.slug : options.name);
    const auto local = ask("Local web server the visitors reach",
                           fmt::format("{}:{}", options.localHost, options.localPort));
    if (!parseLocal(local, options.localHost, options.localPort)) {
        throw Failure(Exit::Usage, "'" + local + "' is not HOST:PORT, e.g. 127.0.0.1:80");
    }
}

// The slug registered, asking for another one on a terminal while the directory says taken.
Registration registerInteractively(HttpsClient& https, SetupOptions& options, bool interactive) {
    for (;;) {
        const RegistrationRequest request{options.directory, options.name, options.slug,
                                          "https://" + options.slug + "." + domainOf(options)};
        auto registration = registerSlug(https, request);
        using Outcome = Registration::Outcome;
        switch (registration.outcome) {
            case Outcome::Registered: return registration;
            case Outcome::Failed: throw Failure(Exit::Unreachable, registration.reason);
            case Outcome::Refused:
                throw Failure(Exit::Failed, fmt::format("the directory refused slug '{}': {}",
                                                        options.slug, registration.reason));
            case Outcome::Taken:
                if (!interactive) {
                    throw Failure(Exit::Failed,
                                  fmt::format("slug '{}' is already taken in the directory; "
                                              "nothing changed",
                                              options.slug));
                }
                fmt::print("Slug '{}' is already taken.\n", options.slug);
                options.slug.clear();
                while (!validSlug(options.slug)) {
                    options.slug = ask("Another slug");
                }
                break;
        }
    }
}
}  // namespace

void setup(SetupOptions options) {
    const bool interactive = onTerminal() && !options.yes;
    checkOptions(options);
    if (interactive) {
        askMissing(options);
    } else if (!validSlug(options.slug)) {
        throw Failure(Exit::Usage, options.slug.empty()
                                       ? "--slug is needed when setup does not run on a terminal"
                                       : "'" + options.slug +
                                             "' is not a slug: 3 to 63 lowercase letters, "
                                             "digits and inner hyphens");
    }
    if (options.name.empty()) {
        options.name = options.slug;
    }
    checkWritable(options.paths, options.dryRun);
    if (!options.dryRun) {
        checkNotConfigured(options.paths, interactive, options.yes);
    }

    HttpsClient https(options.https);
    const auto door = probeDoor(https, options);
    fmt::print("{}\n", door.why);
    AgentSettings settings{door.server, options.slug, options.localHost, options.localPort,
                           options.https.caFile};
    if (options.dryRun) {
        printPlan(options, settings);
        return;
    }
    if (interactive && !confirm(fmt::format("Register {}.{} with {} and start the agent?",
                                            options.slug, domainOf(options), options.directory))) {
        throw Failure(Exit::Failed, "setup cancelled; nothing changed");
    }
    auto registration = registerInteractively(https, options, interactive);
    settings.slug = options.slug;
    fmt::print("Registered {} with {}\n", options.slug, options.directory);

    // From here on a failure gives the slug back, so a second run can take it again.
    SlugLease lease(https, options.directory, options.slug, registration.token);
    FileChanges changes;
    writeAgentFiles(changes, options.paths, settings, registration.token);
    startAgent(options.paths, /*restart=*/false);
    changes.commit();
    lease.keep();
    fmt::print("Token in {}, settings in {}; {} enabled and started\n", options.paths.tokenFile(),
               options.paths.clientConf(), options.paths.unit);

    const auto url = publicUrl(options, registration.subdomain);
    if (options.wait) {
        waitOnline(options, url);
        fmt::print("Online: {}\n", url);
    } else {
        fmt::print("Public URL: {}\n", url);
    }
}

}  // namespace nexus::ctl

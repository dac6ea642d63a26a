// SPDX-License-Identifier: AGPL-3.0-or-later
// The steps setup and setup --import share: checks before anything is written, the agent's
// files, its start, and the wait for the public URL.
#pragma once

#include "ctl/agent_settings.hpp"
#include "ctl/file_changes.hpp"
#include "ctl/https_client.hpp"
#include "ctl/relay_probe.hpp"
#include "ctl/setup.hpp"

#include <string>

namespace nexus::ctl {

/// The public domain: --domain, else the directory's host.
std::string domainOf(const SetupOptions& options);
/// https://SUBDOMAIN, on the directory's port when it is not 443.
std::string publicUrl(const SetupOptions& options, const std::string& subdomain);
/// "HOST:PORT" into its parts; false when it is not one.
bool parseLocal(const std::string& text, std::string& host, unsigned& port);

/// The URLs and files the options name are usable (Failure otherwise).
void checkOptions(const SetupOptions& options);
/// The token and client.conf can be written (Failure naming the file otherwise).
void checkWritable(const SetupPaths& paths, bool dryRun);
/// An agent already configured is replaced only on --yes or after a question.
void checkNotConfigured(const SetupPaths& paths, bool interactive, bool yes);

Door probeDoor(HttpsClient& https, const SetupOptions& options);
void printPlan(const SetupOptions& options, const AgentSettings& settings);

/// Writes the token (0600) and client.conf (0644) through `changes`; a Failure after
/// `changes` rolled back what it wrote.
void writeAgentFiles(FileChanges& changes, const SetupPaths& paths, const AgentSettings& settings,
                     const std::string& token);
/// enable --now (or enable and restart when it runs, or when `restart`); Failure on error.
void startAgent(const SetupPaths& paths, bool restart);

/// A slug just registered: given back to the directory unless keep() was called.
class SlugLease {
public:
    SlugLease(HttpsClient& https, std::string directory, std::string slug, std::string token)
        : https_(https),
          directory_(std::move(directory)),
          slug_(std::move(slug)),
          token_(std::move(token)) {}
    ~SlugLease();
    SlugLease(const SlugLease&) = delete;
    SlugLease& operator=(const SlugLease&) = delete;
    void keep() { kept_ = true; }

private:
    HttpsClient& https_;
    std::string directory_, slug_, token_;
    bool kept_ = false;
};

}  // namespace nexus::ctl

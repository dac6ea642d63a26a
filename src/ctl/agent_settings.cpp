// SPDX-License-Identifier: AGPL-3.0-or-later
#include "ctl/agent_settings.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace nexus::ctl {

namespace {
bool plain(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("._:/-[]").find(c) != std::string_view::npos;
}

// A value as the agent's config reader (CLI11's TOML) reads it back: bare when it is plain,
// else in double quotes (a space, a comma or '#' would otherwise split or end it).
bool quoted(const std::string& value, std::string& out) {
    if (std::all_of(value.begin(), value.end(), plain) && !value.empty()) {
        out = value;
        return true;
    }
    if (value.find_first_of("\"\\\n\r") != std::string::npos) {
        return false;
    }
    out = '"' + value + '"';
    return true;
}
}  // namespace

bool validSlug(const std::string& slug) {
    if (slug.size() < 3 || slug.size() > 63 || slug.front() == '-' || slug.back() == '-') {
        return false;
    }
    return std::all_of(slug.begin(), slug.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

std::string renderClientConf(const AgentSettings& settings, std::string& error) {
    std::string server, slug, host, caFile;
    if (!quoted(settings.server, server) || !quoted(settings.slug, slug) ||
        !quoted(settings.localHost, host) ||
        (!settings.caFile.empty() && !quoted(settings.caFile, caFile))) {
        error = "a setting holds a newline, a quote or a backslash";
        return {};
    }
    error.clear();
    auto out = fmt::format(
        "# /etc/nexus-relay/client.conf: written by nexusctl setup; any flag of\n"
        "# `nexus-relay client --help` works here, without its dashes.\n"
        "# The token is in /etc/nexus-relay/token (root, mode 0600), not here.\n"
        "server = {}\n"
        "slug = {}\n"
        "local-host = {}\n"
        "local-port = {}\n",
        server, slug, host, settings.localPort);
    if (!caFile.empty()) {
        out += fmt::format("# The private CA that signs the relay's certificate.\nca-file = {}\n",
                           caFile);
    }
    return out;
}

}  // namespace nexus::ctl

// SPDX-License-Identifier: AGPL-3.0-or-later
#include "ctl/legacy_install.hpp"

#include <charconv>
#include <sstream>

namespace nexus::ctl {

namespace {
std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

// The unit's logical lines: a line ending in a backslash continues on the next one.
std::vector<std::string> logicalLines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line, pending;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (!line.empty() && line.back() == '\\') {
            pending += line.substr(0, line.size() - 1) + ' ';
            continue;
        }
        lines.push_back(pending + line);
        pending.clear();
    }
    if (!pending.empty()) {
        lines.push_back(pending);
    }
    return lines;
}

std::vector<std::string> splitWords(const std::string& text) {
    std::vector<std::string> words;
    std::string word;
    bool inWord = false;
    char quote = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quote != 0) {
            if (c == quote) {
                quote = 0;
            } else if (c == '\\' && i + 1 < text.size()) {
                word += text[++i];
            } else {
                word += c;
            }
        } else if (c == '"' || c == '\'') {
            quote = c;
            inWord = true;
        } else if (c == ' ' || c == '\t') {
            if (inWord) {
                words.push_back(word);
            }
            word.clear();
            inWord = false;
        } else {
            word += c;
            inWord = true;
        }
    }
    if (inWord) {
        words.push_back(word);
    }
    return words;
}
}  // namespace

std::vector<std::string> execStartWords(const std::string& unitText) {
    bool inService = false;
    std::vector<std::string> words;
    for (const auto& raw : logicalLines(unitText)) {
        const auto line = trim(raw);
        if (line.starts_with('[')) {
            inService = line == "[Service]";
            continue;
        }
        if (!inService || !line.starts_with("ExecStart")) {
            continue;
        }
        const auto equals = line.find('=');
        if (equals == std::string::npos || trim(line.substr(0, equals)) != "ExecStart") {
            continue;
        }
        words = splitWords(line.substr(equals + 1));  // the last ExecStart= wins
    }
    if (!words.empty()) {
        const auto prefix = words.front().find_first_not_of("-@:+!");
        words.front() = prefix == std::string::npos ? "" : words.front().substr(prefix);
    }
    return words;
}

std::optional<LegacyUnit> parseLegacyUnit(const std::string& unitText, std::string& error) {
    const auto words = execStartWords(unitText);
    if (words.empty()) {
        error = "no ExecStart= line in its [Service] section";
        return std::nullopt;
    }
    LegacyUnit unit;
    unit.program = words.front();
    std::string port;
    for (std::size_t i = 1; i < words.size(); ++i) {
        std::string name = words[i], value;
        if (const auto equals = name.find('='); name.starts_with("--") && equals != name.npos) {
            value = name.substr(equals + 1);
            name.resize(equals);
        } else if (name.starts_with("--") && i + 1 < words.size()) {
            value = words[++i];
        }
        if (name == "--server") {
            unit.server = value;
        } else if (name == "--slug") {
            unit.slug = value;
        } else if (name == "--token") {
            unit.token = value;
        } else if (name == "--local-host") {
            unit.localHost = value;
        } else if (name == "--local-port") {
            port = value;
        }
    }
    if (unit.slug.empty()) {
        error = "no --slug on its ExecStart line";
        return std::nullopt;
    }
    if (unit.server.empty()) {
        unit.server = "relay.nexusnode.app:7443";  // the 0.1.x agent's default
    }
    if (!port.empty()) {
        const auto* end = port.data() + port.size();
        const auto [at, ec] = std::from_chars(port.data(), end, unit.localPort);
        if (ec != std::errc{} || at != end || unit.localPort == 0 || unit.localPort > 65535) {
            error = "its --local-port '" + port + "' is not a port number";
            return std::nullopt;
        }
    }
    error.clear();
    return unit;
}

std::string credentialsValue(const std::string& credentialsText, const std::string& label) {
    std::istringstream in(credentialsText);
    std::string line;
    while (std::getline(in, line)) {
        const auto colon = line.find(':');
        if (colon != std::string::npos && trim(line.substr(0, colon)) == label) {
            return trim(line.substr(colon + 1));
        }
    }
    return {};
}

namespace {
// The host of "[scheme://]host[:port][/path]" (not an IPv6 literal: the installer wrote names).
std::string hostOf(std::string text) {
    if (const auto scheme = text.find("://"); scheme != std::string::npos) {
        text = text.substr(scheme + 3);
    }
    return text.substr(0, text.find_first_of(":/"));
}
}  // namespace

std::string legacyDomain(const LegacyUnit& unit, const std::string& credentialsUrl) {
    const auto site = hostOf(credentialsUrl);
    if (site.starts_with(unit.slug + ".") && site.size() > unit.slug.size() + 1) {
        return site.substr(unit.slug.size() + 1);
    }
    const auto relay = hostOf(unit.server);
    for (const std::string label : {"relay.", "relay6.", "tunnel."}) {
        if (relay.starts_with(label) && relay.size() > label.size()) {
            return relay.substr(label.size());
        }
    }
    return "nexusnode.app";
}

}  // namespace nexus::ctl

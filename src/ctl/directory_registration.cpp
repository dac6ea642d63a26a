// SPDX-License-Identifier: AGPL-3.0-or-later
#include "ctl/directory_registration.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace nexus::ctl {

namespace {
using nlohmann::json;

std::string field(const json& body, const char* name) {
    const auto found = body.find(name);
    return found != body.end() && found->is_string() ? found->get<std::string>() : "";
}

// A token is written to a file and a systemd credential: printable, one line, bounded.
bool plausibleToken(const std::string& token) {
    return token.size() >= 16 && token.size() <= 256 &&
           std::all_of(token.begin(), token.end(), [](char c) { return c > ' ' && c < 127; });
}

// The directory's error line, printable and short enough for one terminal line.
std::string errorLine(const json& body, long status) {
    auto text = field(body, "error");
    if (text.empty()) {
        return fmt::format("HTTP {}", status);
    }
    std::replace_if(
        text.begin(), text.end(), [](char c) { return c < ' ' || c == 127; }, ' ');
    return text.substr(0, 200);
}
}  // namespace

std::string registrationBody(const RegistrationRequest& request) {
    return json{{"name", request.name}, {"slug", request.slug}, {"url", request.url}}.dump();
}

Registration readRegistration(long status, const std::string& body) {
    const auto parsed = json::parse(body, nullptr, false);
    const auto object = parsed.is_object() ? parsed : json::object();
    Registration out;
    if (status == 201) {
        out.token = field(object, "token");
        out.subdomain = field(object, "subdomain");
        if (!plausibleToken(out.token)) {
            out.reason = "the directory answered 201 without a usable token";
            return out;
        }
        out.outcome = Registration::Outcome::Registered;
    } else if (status == 409) {
        out.outcome = Registration::Outcome::Taken;
        out.reason = errorLine(object, status);
    } else if (status >= 400 && status < 500) {
        out.outcome = Registration::Outcome::Refused;
        out.reason = errorLine(object, status);
    } else {
        out.reason = fmt::format("the directory answered {}", errorLine(object, status));
    }
    return out;
}

Registration registerSlug(HttpsClient& https, const RegistrationRequest& request) {
    const auto endpoint = request.directory + "/api/directory/register";
    const auto response =
        https.sendJson("POST", endpoint, registrationBody(request), std::chrono::seconds(20));
    if (!response.error.empty()) {
        Registration out;
        out.reason = fmt::format("directory {} unreachable: {}", request.directory, response.error);
        return out;
    }
    return readRegistration(response.status, response.body);
}

std::string unregisterSlug(HttpsClient& https, const std::string& directory,
                           const std::string& slug, const std::string& token) {
    const auto response = https.sendJson("DELETE", directory + "/api/directory/" + slug,
                                         json{{"token", token}}.dump(), std::chrono::seconds(10));
    if (!response.error.empty()) {
        return response.error;
    }
    return response.status == 200 ? "" : fmt::format("HTTP {}", response.status);
}

}  // namespace nexus::ctl

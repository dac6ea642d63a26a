// SPDX-License-Identifier: AGPL-3.0-or-later
// POST DIRECTORY/api/directory/register: the slug for this instance and its token.
// 201 {token, subdomain}, 409 slug taken, 400 {error} refused.
#pragma once

#include "ctl/https_client.hpp"

#include <string>

namespace nexus::ctl {

struct Registration {
    enum class Outcome { Registered, Taken, Refused, Failed };
    Outcome outcome = Outcome::Failed;
    std::string token;      ///< Registered: the slug's token
    std::string subdomain;  ///< Registered: SLUG.DOMAIN as the directory names it
    std::string reason;     ///< Refused or Failed: one line, the directory's own when it gave one
};

struct RegistrationRequest {
    std::string directory;  ///< https://nexusnode.app
    std::string name;
    std::string slug;
    std::string url;  ///< https://SLUG.DOMAIN
};

Registration registerSlug(HttpsClient& https, const RegistrationRequest& request);

/// DELETE DIRECTORY/api/directory/SLUG with its token: an empty string when the directory
/// dropped it, else why not.
std::string unregisterSlug(HttpsClient& https, const std::string& directory,
                           const std::string& slug, const std::string& token);

/// The request's JSON body: {"name", "slug", "url"}.
std::string registrationBody(const RegistrationRequest& request);

/// Reads a response of the register endpoint (status and body) into a Registration.
Registration readRegistration(long status, const std::string& body);

}  // namespace nexus::ctl

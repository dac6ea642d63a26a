// SPDX-License-Identifier: AGPL-3.0-or-later
// Messages for nexus::Errc; these strings reach logs and, for some, the peer.
#include "common/error.hpp"

#include <string>

namespace nexus {
namespace {

class NexusCategory final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "nexus"; }

    std::string message(int value) const override {
        switch (static_cast<Errc>(value)) {
            case Errc::Ok: return "success";
            case Errc::FrameTooLarge: return "frame too large";
            case Errc::MalformedJson: return "malformed JSON";
            case Errc::UnknownMessageType: return "unknown message type";
            case Errc::MissingField: return "missing or mistyped field";
            case Errc::InvalidBase64: return "invalid base64";
            case Errc::TruncatedFrame: return "connection closed in the middle of a frame";
            // The exact text the deployed relay sends back on any authentication failure.
            case Errc::AuthFailed: return "Invalid slug or token";
            case Errc::RateLimited: return "Too many failed attempts, try again later";
            case Errc::DirectoryUnavailable: return "directory unavailable";
            case Errc::SlugNotFound: return "no such slug";
            case Errc::SlugExists: return "slug already exists";
            case Errc::InvalidSlug:
                return "invalid slug (1-63 characters: lowercase letters, digits, hyphens)";
            case Errc::InvalidUrl: return "invalid URL (expected http:// or https://)";
            case Errc::InvalidArgument: return "invalid argument";
            case Errc::Timeout: return "timed out";
            case Errc::ProtocolViolation: return "protocol violation";
            case Errc::Superseded: return "superseded by a newer session for the same slug";
            case Errc::Revoked: return "slug revoked in the directory";
            case Errc::Disconnected: return "disconnected by the operator";
            case Errc::NoSuchTunnel: return "no tunnel is connected for this slug";
            case Errc::TlsRefused: return "the relay does not speak TLS on this port";
            case Errc::HttpServer:
                return "this is an HTTP server, not a relay's control port (did you give the HTTP "
                       "port?)";
            case Errc::TlsServer:
                return "the server answered in TLS: it wants TLS on this port (drop "
                       "--insecure-plaintext)";
            case Errc::NotRelay: return "this is not a relay's control port";
        }
        return "unknown nexus error";
    }
};

}  // namespace

const boost::system::error_category& nexusCategory() noexcept {
    static const NexusCategory kCategory;
    return kCategory;
}

}  // namespace nexus

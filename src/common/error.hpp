// SPDX-License-Identifier: AGPL-3.0-or-later
// The project's error codes and the result type every library layer returns.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <type_traits>

namespace nexus {

template <typename T>
using Result = boost::system::result<T>;
using ErrorCode = boost::system::error_code;

/// Errors raised by our own code (system and Asio errors keep their own categories).
enum class Errc {
    Ok = 0,
    FrameTooLarge = 1,     ///< a length prefix above the limit for the connection's state
    MalformedJson,         ///< not JSON, or nested deeper than allowed
    UnknownMessageType,    ///< a `type` tag this protocol version does not define
    MissingField,          ///< a required field is absent or has the wrong JSON type
    InvalidBase64,         ///< body_b64 is not padded standard base64
    TruncatedFrame,        ///< the peer closed in the middle of a frame
    AuthFailed,            ///< unknown slug or wrong token: deliberately one error for both
    RateLimited,           ///< too many recent failures from this address or for this slug
    DirectoryUnavailable,  ///< the database cannot be reached or answered with an error
    SlugNotFound,
    SlugExists,
    InvalidSlug,
    InvalidUrl,
    InvalidArgument,
    Timeout,
    ProtocolViolation,
    Superseded,  ///< a newer session took the slug over
    Revoked,     ///< the directory no longer lists the slug as active
    // What a peer that does not speak our protocol on this port answered (the agent's view).
    TlsRefused,  ///< closed or reset the connection at our TLS greeting, sending nothing
    HttpServer,  ///< answered with an HTTP response
    TlsServer,   ///< answered our plaintext with a TLS record
    NotRelay,    ///< answered with something that is neither TLS nor the relay protocol
    // What the operator did to a tunnel (the relay's view).
    Disconnected,  ///< the operator dropped the session
    NoSuchTunnel,  ///< no live tunnel for the slug
};

const boost::system::error_category& nexusCategory() noexcept;

inline ErrorCode makeError(Errc e) noexcept {
    return {static_cast<int>(e), nexusCategory()};
}

}  // namespace nexus

namespace boost::system {
template <>
struct is_error_code_enum<nexus::Errc> : std::true_type {};
}  // namespace boost::system

namespace nexus {
// NOLINTNEXTLINE(readability-identifier-naming): the name Boost.System's ADL lookup needs.
inline ErrorCode make_error_code(Errc e) noexcept {
    return makeError(e);
}
}  // namespace nexus

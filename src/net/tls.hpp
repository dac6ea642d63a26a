// SPDX-License-Identifier: AGPL-3.0-or-later
// TLS for the control connection: contexts with verification on, and handshakes with
// deadlines that yield ordinary Transports.
#pragma once

#include "net/transport.hpp"

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace nexus::net {

namespace ssl = boost::asio::ssl;

/// Server side: certificate chain and key in PEM. TLS 1.2 or newer. On failure `failedFile`
/// names the file at fault (the key when it does not match the certificate); the error is
/// OpenSSL's reason.
Result<std::shared_ptr<ssl::context>> makeServerTlsContext(const std::string& certificateFile,
                                                           const std::string& keyFile,
                                                           std::string& failedFile);

/// Client side: verifies the relay's certificate against `caFile` if given, else the system
/// trust store. TLS 1.2 or newer. Verification cannot be turned off.
Result<std::shared_ptr<ssl::context>> makeClientTlsContext(const std::string& caFile);

/// Server handshake on an accepted socket; fails after `timeout`.
asio::awaitable<Result<std::unique_ptr<Transport>>> tlsAccept(
    tcp::socket socket, std::shared_ptr<ssl::context> context,
    std::chrono::steady_clock::duration timeout);

/// Client handshake: SNI and host-name (or IP) verification against `serverName`.
asio::awaitable<Result<std::unique_ptr<Transport>>> tlsConnect(
    tcp::socket socket, std::shared_ptr<ssl::context> context, std::string serverName,
    std::chrono::steady_clock::duration timeout);

/// A readable description of the last TLS failure (certificate problems in particular).
std::string describeTlsError(const ErrorCode& ec);

}  // namespace nexus::net

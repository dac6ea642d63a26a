// SPDX-License-Identifier: AGPL-3.0-or-later
// TLS contexts for both ends (TLS 1.2 or newer, verification on) and readable TLS errors.
#include "net/tls.hpp"

#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace nexus::net {

namespace {

constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384";

Result<void> restrictVersions(ssl::context& context) {
    if (SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION) != 1) {
        return makeError(Errc::InvalidArgument);
    }
    // Renegotiation only ever served attacks on a tunnel that never changes its parameters.
    context.set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                        SSL_OP_NO_RENEGOTIATION);
    // AES-128-GCM first: as strong as the tunnel needs and about a third cheaper per byte than
    // OpenSSL's default AES-256-GCM; ChaCha20 for processors without AES instructions.
    if (SSL_CTX_set_ciphersuites(context.native_handle(), kTls13Suites) != 1) {
        return makeError(Errc::InvalidArgument);
    }
    return {};
}

}  // namespace

Result<std::shared_ptr<ssl::context>> makeServerTlsContext(const std::string& certificateFile,
                                                           const std::string& keyFile,
                                                           std::string& failedFile) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
    if (auto ok = restrictVersions(*context); !ok) {
        return ok.error();
    }
    ErrorCode ec;
    failedFile = certificateFile;
    context->use_certificate_chain_file(certificateFile, ec);
    if (!ec) {
        failedFile = keyFile;
        context->use_private_key_file(keyFile, ssl::context::pem, ec);
    }
    if (ec) {
        return ec;
    }
    failedFile.clear();
    return context;
}

Result<std::shared_ptr<ssl::context>> makeClientTlsContext(const std::string& caFile) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    if (auto ok = restrictVersions(*context); !ok) {
        return ok.error();
    }
    ErrorCode ec;
    if (caFile.empty()) {
        context->set_default_verify_paths(ec);
    } else {
        context->load_verify_file(caFile, ec);
    }
    if (ec) {
        return ec;
    }
    context->set_verify_mode(ssl::verify_peer);
    return context;
}

std::string describeTlsError(const ErrorCode& ec) {
    if (ec.category() == asio::error::get_ssl_category()) {
        const unsigned long reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
        if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
            return "the relay's certificate could not be verified (unknown CA, wrong name or "
                   "expired; see --ca-file and --server-name)";
        }
        if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG) {
            return "the relay does not speak TLS on this port (a deployed v1 relay? then pass "
                   "--insecure-plaintext)";
        }
    }
    return ec.message();
}

}  // namespace nexus::net

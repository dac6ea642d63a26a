// SPDX-License-Identifier: AGPL-3.0-or-later
// TLS contexts for both ends (TLS 1.2 or newer, verification on) and readable TLS errors.
#include "net/tls.hpp"

#include <boost/asio/ssl/error.hpp>

#include <fmt/format.h>

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
    constexpr std::string_view kPlaintextHint =
        "have its operator give it a certificate (--tls-cert, --tls-key), or pass "
        "--insecure-plaintext only if you trust the network between here and the relay (the "
        "token then travels in clear)";
    if (ec == makeError(Errc::TlsRefused)) {
        return fmt::format(
            "{}: it closed the connection at our TLS greeting, as a relay without a certificate "
            "or a deployed 0.1.x relay does; {}",
            ec.message(), kPlaintextHint);
    }
    if (ec.category() != asio::error::get_ssl_category()) {
        return ec.message();
    }
    const auto code = static_cast<unsigned long>(ec.value());
    const int reason = ERR_GET_REASON(code);
    if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        return "the relay's certificate could not be verified (unknown CA, wrong name or "
               "expired; see --ca-file and --server-name)";
    }
    if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG) {
        return fmt::format("{}: its answer is not a TLS record; {}",
                           makeError(Errc::TlsRefused).message(), kPlaintextHint);
    }
    // The relay's TLS said no, with an alert (OpenSSL numbers these reasons from 1000 up):
    // its own words, such as "tlsv1 alert protocol version".
    if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
        const char* text = ERR_reason_error_string(code);
        return fmt::format("the relay refused TLS (its alert: {})",
                           text != nullptr ? text : ec.message());
    }
    return ec.message();
}

}  // namespace nexus::net

// SPDX-License-Identifier: AGPL-3.0-or-later
// TLS contexts for both ends (TLS 1.2 or newer, verification on) and readable TLS errors.
#include "net/tls.hpp"

#include <boost/asio/ssl/error.hpp>

#include <fmt/format.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <filesystem>
#include <string_view>

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

// A hashed CA directory holds links named after the subject's hash, e.g. 4042bcee.0.
bool isHashLink(std::string_view name) {
    const auto dot = name.find('.');
    return dot == 8 && name.size() > 9 && name.find_first_not_of("0123456789abcdef") == dot &&
           name.find_first_not_of("0123456789", dot + 1) == std::string_view::npos;
}

// Whether one of the directories of `dirs` (colon-separated, as OpenSSL reads it) is hashed.
bool hasHashedDirectory(std::string_view dirs) {
    namespace fs = std::filesystem;
    while (!dirs.empty()) {
        const auto colon = dirs.find(':');
        std::error_code ec;
        for (fs::directory_iterator entry(fs::path(dirs.substr(0, colon)), ec), end;
             !ec && entry != end; entry.increment(ec)) {
            if (isHashLink(entry->path().filename().native())) {
                return true;
            }
        }
        dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    }
    return false;
}

// The system's trust store as set_default_verify_paths() finds it (SSL_CERT_FILE and
// SSL_CERT_DIR honoured), but read on demand: the hashed directory (/etc/ssl/certs, kept by
// update-ca-certificates from the same certificates as the bundle) yields the one CA a
// verification needs when it needs it, where the bundle file is parsed whole up front and its
// 140-odd certificates kept: 1.5 MiB of the agent's resident memory. The bundle stays the way
// when SSL_CERT_FILE names one or there is no hashed directory.
void useSystemTrustStore(ssl::context& context, ErrorCode& ec) {
    const char* fileFromEnvironment = std::getenv(X509_get_default_cert_file_env());
    const char* dirFromEnvironment = std::getenv(X509_get_default_cert_dir_env());
    const std::string dirs =
        dirFromEnvironment != nullptr ? dirFromEnvironment : X509_get_default_cert_dir();
    if (fileFromEnvironment == nullptr && hasHashedDirectory(dirs)) {
        context.add_verify_path(dirs, ec);
    } else {
        context.set_default_verify_paths(ec);
    }
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
        useSystemTrustStore(*context, ec);
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

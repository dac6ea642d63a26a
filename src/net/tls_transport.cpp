// SPDX-License-Identifier: AGPL-3.0-or-later
// TLS contexts, handshakes and the Transport over asio::ssl::stream.
#include "net/tls.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace nexus::net {

using namespace boost::asio::experimental::awaitable_operators;

namespace {

class TlsTransport final : public Transport {
public:
    TlsTransport(std::shared_ptr<ssl::context> context, ssl::stream<tcp::socket> stream)
        : context_(std::move(context)), stream_(std::move(stream)) {
        ErrorCode ec;
        const auto endpoint = stream_.lowest_layer().remote_endpoint(ec);
        peer_ = ec ? std::string("unknown") : formatEndpoint(endpoint);
    }

    asio::awaitable<std::size_t> readSome(asio::mutable_buffer buffer, ErrorCode& ec) override {
        auto [error, n] =
            co_await stream_.async_read_some(buffer, asio::as_tuple(asio::use_awaitable));
        // A peer that closes without close_notify is an ordinary end of a tunnel.
        ec = error == ssl::error::stream_truncated ? ErrorCode(asio::error::eof) : error;
        co_return n;
    }

    asio::awaitable<void> writeAll(asio::const_buffer buffer, ErrorCode& ec) override {
        auto [error, n] =
            co_await asio::async_write(stream_, buffer, asio::as_tuple(asio::use_awaitable));
        ec = error;
    }

    void close() override {
        ErrorCode ignored;
        stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.lowest_layer().close(ignored);
    }

    const std::string& peer() const override { return peer_; }
    std::string_view door() const override { return "tls"; }
    int nativeHandle() override {
        auto& socket = stream_.lowest_layer();
        return socket.is_open() ? socket.native_handle() : -1;
    }

private:
    std::shared_ptr<ssl::context> context_;  // outlives the stream that refers to it
    ssl::stream<tcp::socket> stream_;
    std::string peer_;
};

Result<void> restrictVersions(ssl::context& context) {
    if (SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION) != 1) {
        return makeError(Errc::InvalidArgument);
    }
    context.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
    return {};
}

using Handshake = asio::awaitable<Result<std::unique_ptr<Transport>>>;

Handshake handshake(ssl::stream<tcp::socket> stream, std::shared_ptr<ssl::context> context,
                    ssl::stream_base::handshake_type type,
                    std::chrono::steady_clock::duration timeout) {
    asio::steady_timer timer(stream.get_executor(), timeout);
    auto result = co_await (stream.async_handshake(type, asio::as_tuple(asio::use_awaitable)) ||
                            timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (result.index() == 1) {
        co_return makeError(Errc::Timeout);
    }
    if (auto [ec] = std::get<0>(result); ec) {
        co_return ec;
    }
    co_return std::make_unique<TlsTransport>(std::move(context), std::move(stream));
}

}  // namespace

Result<std::shared_ptr<ssl::context>> makeServerTlsContext(const std::string& certificateFile,
                                                           const std::string& keyFile) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
    if (auto ok = restrictVersions(*context); !ok) {
        return ok.error();
    }
    ErrorCode ec;
    context->use_certificate_chain_file(certificateFile, ec);
    if (!ec) {
        context->use_private_key_file(keyFile, ssl::context::pem, ec);
    }
    if (ec) {
        return ec;
    }
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

asio::awaitable<Result<std::unique_ptr<Transport>>> tlsAccept(
    tcp::socket socket, std::shared_ptr<ssl::context> context,
    std::chrono::steady_clock::duration timeout) {
    tuneSocket(socket);
    ssl::stream<tcp::socket> stream(std::move(socket), *context);
    return handshake(std::move(stream), std::move(context), ssl::stream_base::server, timeout);
}

asio::awaitable<Result<std::unique_ptr<Transport>>> tlsConnect(
    tcp::socket socket, std::shared_ptr<ssl::context> context, std::string serverName,
    std::chrono::steady_clock::duration timeout) {
    tuneSocket(socket);
    ssl::stream<tcp::socket> stream(std::move(socket), *context);
    ErrorCode notAnAddress;
    asio::ip::make_address(serverName, notAnAddress);
    if (notAnAddress) {
        // SNI lets one relay address serve several names; not sent for IP literals.
        SSL_set_tlsext_host_name(stream.native_handle(), serverName.c_str());
    }
    stream.set_verify_callback(ssl::host_name_verification(serverName));
    return handshake(std::move(stream), std::move(context), ssl::stream_base::client, timeout);
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

// SPDX-License-Identifier: AGPL-3.0-or-later
// The tunnel's TLS: OpenSSL over two memory BIOs, with the socket I/O done here. Asio's
// ssl::stream moves at most one 17 KiB record per system call in each direction, and a
// download through the tunnel then costs a send and a coroutine resumption per record on one
// side and a receive per record on the other. Here a whole gathered write (up to half a
// megabyte of frames) is encrypted and leaves in one send, and one receive takes whatever
// the socket holds, up to 64 KiB, for as many records as it carries.
#include "net/door.hpp"
#include "net/tls.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>

namespace nexus::net {

using namespace boost::asio::experimental::awaitable_operators;

namespace {

constexpr std::size_t kSocketRead = 64 * 1024;
// Plaintext handed to OpenSSL at a time: the memory BIO then never holds more ciphertext
// than this before it is moved out.
constexpr std::size_t kEncryptPiece = 64 * 1024;
// An idle tunnel gives back a ciphertext buffer that a burst made larger than this.
constexpr std::size_t kKeptOutput = 64 * 1024;

struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
};

// The error OpenSSL queued for a failed call; an error without a queued reason (the peer
// closed in the middle of a record) reads as a truncated stream, as with Asio's engine.
ErrorCode sslFailure() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) {
        return ssl::error::stream_truncated;
    }
    return {static_cast<int>(code), asio::error::get_ssl_category()};
}

class TlsTransport final : public Transport {
public:
    TlsTransport(tcp::socket socket, std::shared_ptr<ssl::context> context, SSL* ssl)
        : socket_(std::move(socket)),
          context_(std::move(context)),
          ssl_(ssl),
          input_(BIO_new(BIO_s_mem())),
          output_(BIO_new(BIO_s_mem())),
          readBuffer_(std::make_unique_for_overwrite<char[]>(kSocketRead)) {
        // An empty input BIO means "wait for the socket", not end of stream.
        BIO_set_mem_eof_return(input_, -1);
        BIO_set_mem_eof_return(output_, -1);
        SSL_set_bio(ssl_.get(), input_, output_);  // the SSL object owns both from here
        // Idle tunnels are the common case: OpenSSL's record buffers go back between uses.
        SSL_set_mode(ssl_.get(), SSL_MODE_RELEASE_BUFFERS);
        ErrorCode ec;
        const auto endpoint = socket_.remote_endpoint(ec);
        peer_ = ec ? std::string("unknown") : formatEndpoint(endpoint);
    }

    /// Runs the handshake to its end; the alert of a failed one is sent before returning.
    /// A client's failure says what answered when that was not TLS (see explainFailure).
    asio::awaitable<ErrorCode> handshake() {
        const ErrorCode failure = co_await runHandshake();
        co_return failure && !SSL_is_server(ssl_.get()) ? explainFailure(failure) : failure;
    }

    asio::awaitable<ErrorCode> runHandshake() {
        for (;;) {
            ERR_clear_error();
            const int result = SSL_do_handshake(ssl_.get());
            const int status = result == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), result);
            const ErrorCode failure = status == SSL_ERROR_NONE || status == SSL_ERROR_WANT_READ
                                          ? ErrorCode()
                                          : sslFailure();
            ErrorCode ec;
            co_await sendEncrypted(ec);  // our flight, or the alert that tells the peer why
            if (failure) {
                co_return failure;
            }
            if (ec || status == SSL_ERROR_NONE) {
                co_return ec;
            }
            co_await receive(ec);
            if (ec) {
                co_return ec;
            }
        }
    }

    asio::awaitable<std::size_t> readSome(asio::mutable_buffer buffer, ErrorCode& ec) override {
        auto* data = static_cast<char*>(buffer.data());
        for (;;) {
            // As many records as are buffered: a 64 KiB receive holds four full ones.
            ERR_clear_error();
            std::size_t total = 0;
            std::size_t n = 0;
            int result = 1;
            while (total < buffer.size() &&
                   (result = SSL_read_ex(ssl_.get(), data + total, buffer.size() - total, &n)) ==
                       1) {
                total += n;
            }
            if (total > 0) {
                ERR_clear_error();
                co_return total;
            }
            // Anything OpenSSL wrote while reading (a key update's answer) leaves with the
            // next write: the tunnel writes at least a heartbeat every few seconds.
            const int status = SSL_get_error(ssl_.get(), result);
            if (status == SSL_ERROR_ZERO_RETURN) {
                ec = asio::error::eof;  // close_notify
                co_return 0;
            }
            if (status != SSL_ERROR_WANT_READ) {
                ec = sslFailure();
                co_return 0;
            }
            co_await receive(ec);
            if (ec) {
                co_return 0;
            }
        }
    }

    asio::awaitable<void> writeAll(asio::const_buffer buffer, ErrorCode& ec) override {
        if (encrypt(buffer, ec)) {
            co_await sendEncrypted(ec);
        }
    }

    asio::awaitable<void> writeGather(const std::vector<asio::const_buffer>& buffers,
                                      ErrorCode& ec) override {
        for (const auto& buffer : buffers) {
            if (!encrypt(buffer, ec)) {
                co_return;
            }
        }
        co_await sendEncrypted(ec);
    }

    void close() override {
        ErrorCode ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

    const std::string& peer() const override { return peer_; }
    std::string_view door() const override { return "tls"; }
    int nativeHandle() override { return socket_.is_open() ? socket_.native_handle() : -1; }

private:
    // Without the peer's first bytes OpenSSL can only say "wrong version number" or pass on
    // the socket's reset. A peer that closes or resets at our greeting without a byte of
    // answer does not speak TLS on this port (a relay without a certificate, or the deployed
    // plaintext relay, which reads the greeting as a frame length and resets); one that
    // answers with something other than a TLS record is named by what it sent.
    ErrorCode explainFailure(const ErrorCode& failure) const {
        if (greeting_.empty()) {
            const bool closed = failure == asio::error::eof ||
                                failure == asio::error::connection_reset ||
                                failure == ssl::error::stream_truncated;
            return closed ? makeError(Errc::TlsRefused) : failure;
        }
        const ErrorCode foreign = classifyForeignAnswer(greeting_);
        return foreign == makeError(Errc::TlsServer) ? failure : foreign;
    }

    // Encrypts into the output BIO and moves the ciphertext to ciphertext_, piece by piece.
    bool encrypt(asio::const_buffer buffer, ErrorCode& ec) {
        const auto* data = static_cast<const char*>(buffer.data());
        for (std::size_t done = 0; done < buffer.size();) {
            const std::size_t piece = std::min(buffer.size() - done, kEncryptPiece);
            std::size_t written = 0;
            ERR_clear_error();
            // A memory BIO always takes everything: the write is whole or fails.
            if (SSL_write_ex(ssl_.get(), data + done, piece, &written) != 1) {
                ec = sslFailure();
                return false;
            }
            done += written;
            moveCiphertext();
        }
        return true;
    }

    void moveCiphertext() {
        const std::size_t pending = BIO_ctrl_pending(output_);
        if (pending == 0) {
            return;
        }
        const std::size_t needed = ciphertextSize_ + pending;
        if (needed > ciphertextCapacity_) {
            // Grown without zero-filling: every byte is written by BIO_read right after.
            const std::size_t capacity = std::max(needed, 2 * ciphertextCapacity_);
            auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
            std::memcpy(bigger.get(), ciphertext_.get(), ciphertextSize_);
            ciphertext_ = std::move(bigger);
            ciphertextCapacity_ = capacity;
        }
        BIO_read(output_, ciphertext_.get() + ciphertextSize_, static_cast<int>(pending));
        ciphertextSize_ = needed;
    }

    // Sends everything encrypted so far in one write. Only the connection's one writer (and
    // the handshake, before there is a writer) calls this, so sends never overlap.
    asio::awaitable<void> sendEncrypted(ErrorCode& ec) {
        moveCiphertext();
        if (ciphertextSize_ == 0) {
            co_return;
        }
        auto [error, n] =
            co_await asio::async_write(socket_, asio::buffer(ciphertext_.get(), ciphertextSize_),
                                       asio::as_tuple(asio::use_awaitable));
        ec = error;
        ciphertextSize_ = 0;
        if (ciphertextCapacity_ > kKeptOutput) {
            ciphertext_.reset();
            ciphertextCapacity_ = 0;
        }
    }

    // One receive from the socket into the input BIO.
    asio::awaitable<void> receive(ErrorCode& ec) {
        auto [error, n] = co_await socket_.async_read_some(
            asio::buffer(readBuffer_.get(), kSocketRead), asio::as_tuple(asio::use_awaitable));
        if (n > 0) {
            if (greeting_.size() < kGreetingKept) {
                greeting_.append(readBuffer_.get(), std::min(n, kGreetingKept - greeting_.size()));
            }
            BIO_write(input_, readBuffer_.get(), static_cast<int>(n));
            co_return;
        }
        ec = error ? error : ErrorCode(asio::error::eof);
    }

    tcp::socket socket_;
    std::shared_ptr<ssl::context> context_;  // outlives the SSL object made from it
    std::unique_ptr<SSL, SslFree> ssl_;
    BIO* input_;   ///< ciphertext received, owned by ssl_
    BIO* output_;  ///< ciphertext to send, owned by ssl_
    std::unique_ptr<char[]> readBuffer_;
    /// Out of the BIO before it is sent, so what a read makes OpenSSL write cannot move it.
    std::unique_ptr<char[]> ciphertext_;
    std::size_t ciphertextSize_ = 0;
    std::size_t ciphertextCapacity_ = 0;
    std::string peer_;
    static constexpr std::size_t kGreetingKept = 8;
    std::string greeting_;  ///< the peer's first bytes, to name what answered
};

using Handshake = asio::awaitable<Result<std::unique_ptr<Transport>>>;

Handshake handshake(std::unique_ptr<TlsTransport> transport,
                    std::chrono::steady_clock::duration timeout) {
    asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
    auto result =
        co_await (transport->handshake() || timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (result.index() == 1) {
        co_return makeError(Errc::Timeout);
    }
    if (const ErrorCode ec = std::get<0>(result); ec) {
        co_return ec;
    }
    co_return std::unique_ptr<Transport>(std::move(transport));
}

// A connection's SSL object: the server side as it is, the client side with SNI and the
// relay's name (or IP address) to verify its certificate against.
Handshake start(tcp::socket socket, std::shared_ptr<ssl::context> context,
                const std::string* serverName, std::chrono::steady_clock::duration timeout) {
    tuneSocket(socket);
    ERR_clear_error();
    std::unique_ptr<SSL, SslFree> ssl(SSL_new(context->native_handle()));
    if (!ssl) {
        co_return sslFailure();
    }
    if (serverName == nullptr) {
        SSL_set_accept_state(ssl.get());
    } else {
        SSL_set_connect_state(ssl.get());
        ErrorCode notAnAddress;
        asio::ip::make_address(*serverName, notAnAddress);
        X509_VERIFY_PARAM* verify = SSL_get0_param(ssl.get());
        // SNI lets one relay address serve several names; it is not sent for IP literals.
        const bool named =
            notAnAddress ? SSL_set_tlsext_host_name(ssl.get(), serverName->c_str()) == 1 &&
                               X509_VERIFY_PARAM_set1_host(verify, serverName->c_str(), 0) == 1
                         : X509_VERIFY_PARAM_set1_ip_asc(verify, serverName->c_str()) == 1;
        if (!named) {
            co_return sslFailure();
        }
    }
    co_return co_await handshake(
        std::make_unique<TlsTransport>(std::move(socket), std::move(context), ssl.release()),
        timeout);
}

}  // namespace

asio::awaitable<Result<std::unique_ptr<Transport>>> tlsAccept(
    tcp::socket socket, std::shared_ptr<ssl::context> context,
    std::chrono::steady_clock::duration timeout) {
    return start(std::move(socket), std::move(context), nullptr, timeout);
}

asio::awaitable<Result<std::unique_ptr<Transport>>> tlsConnect(
    tcp::socket socket, std::shared_ptr<ssl::context> context, std::string serverName,
    std::chrono::steady_clock::duration timeout) {
    co_return co_await start(std::move(socket), std::move(context), &serverName, timeout);
}

}  // namespace nexus::net

// SPDX-License-Identifier: AGPL-3.0-or-later
// Transport over a Beast WebSocket stream, plain or TLS, and the two handshakes.
#include "net/websocket.hpp"

#include "net/websocket_declined.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <openssl/ssl.h>

#include <charconv>

namespace nexus::net {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

// A protocol frame is at most 16 MiB plus its prefix; leave room for that in one message.
constexpr std::size_t kMaxMessage = 16U * 1024U * 1024U + 64U;

template <typename Next>
class WebSocketTransport final : public Transport {
public:
    WebSocketTransport(websocket::stream<Next> ws, std::string peer,
                       std::shared_ptr<ssl::context> context = nullptr)
        : context_(std::move(context)), ws_(std::move(ws)), peer_(std::move(peer)) {
        ws_.binary(true);
        ws_.read_message_max(kMaxMessage);
        // Application pings keep the tunnel alive; Beast answers the peer's pings itself.
        websocket::stream_base::timeout t{};
        t.handshake_timeout = std::chrono::seconds(10);
        t.idle_timeout = websocket::stream_base::none();
        t.keep_alive_pings = false;
        ws_.set_option(t);
    }

    asio::awaitable<std::size_t> readSome(asio::mutable_buffer buffer, ErrorCode& ec) override {
        while (pending_.size() == 0) {
            auto [error, n] =
                co_await ws_.async_read(pending_, asio::as_tuple(asio::use_awaitable));
            if (error) {
                ec = error == websocket::error::closed ? ErrorCode(asio::error::eof) : error;
                co_return 0;
            }
        }
        const std::size_t n = asio::buffer_copy(buffer, pending_.data());
        pending_.consume(n);
        ec = {};
        co_return n;
    }

    asio::awaitable<void> writeAll(asio::const_buffer buffer, ErrorCode& ec) override {
        auto [error, n] = co_await ws_.async_write(buffer, asio::as_tuple(asio::use_awaitable));
        ec = error;
    }

    void close() override {
        ErrorCode ignored;
        auto& socket = beast::get_lowest_layer(ws_);
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
    }

    const std::string& peer() const override { return peer_; }
    std::string_view door() const override { return "ws"; }
    int nativeHandle() override {
        auto& socket = beast::get_lowest_layer(ws_);
        return socket.is_open() ? socket.native_handle() : -1;
    }

private:
    std::shared_ptr<ssl::context> context_;  // declared first: outlives a TLS stream using it
    websocket::stream<Next> ws_;
    beast::flat_buffer pending_;
    std::string peer_;
};

template <typename Awaitable>
asio::awaitable<Result<void>> withDeadline(Awaitable operation, asio::any_io_executor executor,
                                           std::chrono::steady_clock::duration timeout) {
    asio::steady_timer timer(executor, timeout);
    auto result =
        co_await (std::move(operation) || timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (result.index() == 1) {
        co_return makeError(Errc::Timeout);
    }
    if (auto [ec] = std::get<0>(result); ec) {
        co_return ec;
    }
    co_return Result<void>{};
}

// A handshake the server answered with another status than 101 becomes that status.
ErrorCode declinedOr(ErrorCode error, const websocket::response_type& answer) {
    if (error == websocket::error::upgrade_declined && answer.result_int() != 0) {
        return webSocketDeclined(answer.result_int());
    }
    return error;
}

std::string peerOf(const tcp::socket& socket) {
    ErrorCode ec;
    const auto endpoint = socket.remote_endpoint(ec);
    return ec ? std::string("unknown") : formatEndpoint(endpoint);
}

}  // namespace

asio::awaitable<Result<std::unique_ptr<Transport>>> webSocketConnect(
    tcp::socket socket, const WebSocketUrl& url, std::shared_ptr<ssl::context> tls,
    std::string serverName, std::chrono::steady_clock::duration timeout) {
    tuneSocket(socket);
    const std::string peer = peerOf(socket);
    const auto executor = socket.get_executor();
    const std::string hostHeader = url.endpoint.host;
    if (!url.secure) {
        websocket::stream<tcp::socket> ws(std::move(socket));
        websocket::response_type answer;
        auto done = co_await withDeadline(
            ws.async_handshake(answer, hostHeader, url.target, asio::as_tuple(asio::use_awaitable)),
            executor, timeout);
        if (!done) {
            co_return declinedOr(done.error(), answer);
        }
        co_return std::make_unique<WebSocketTransport<tcp::socket>>(std::move(ws), peer);
    }
    using TlsSocket = ssl::stream<tcp::socket>;
    websocket::stream<TlsSocket> ws(std::move(socket), *tls);
    ErrorCode notAnAddress;
    asio::ip::make_address(serverName, notAnAddress);
    if (notAnAddress) {
        SSL_set_tlsext_host_name(ws.next_layer().native_handle(), serverName.c_str());
    }
    ws.next_layer().set_verify_callback(ssl::host_name_verification(serverName));
    auto tlsDone =
        co_await withDeadline(ws.next_layer().async_handshake(ssl::stream_base::client,
                                                              asio::as_tuple(asio::use_awaitable)),
                              executor, timeout);
    if (!tlsDone) {
        co_return tlsDone.error();
    }
    websocket::response_type answer;
    auto done = co_await withDeadline(
        ws.async_handshake(answer, hostHeader, url.target, asio::as_tuple(asio::use_awaitable)),
        executor, timeout);
    if (!done) {
        co_return declinedOr(done.error(), answer);
    }
    co_return std::make_unique<WebSocketTransport<TlsSocket>>(std::move(ws), peer, std::move(tls));
}

asio::awaitable<Result<std::unique_ptr<Transport>>> webSocketAccept(
    tcp::socket socket, std::chrono::steady_clock::duration timeout, std::string& forwardedFor) {
    ErrorCode ec;
    const auto remote = socket.remote_endpoint(ec);
    const std::string peer = ec ? std::string("unknown") : formatEndpoint(remote);
    const auto executor = socket.get_executor();
    tuneSocket(socket);
    beast::flat_buffer buffer;
    http::request_parser<http::empty_body> parser;
    parser.header_limit(8 * 1024);
    asio::steady_timer timer(executor, timeout);
    auto read =
        co_await (http::async_read(socket, buffer, parser, asio::as_tuple(asio::use_awaitable)) ||
                  timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (read.index() == 1) {
        co_return makeError(Errc::Timeout);
    }
    if (auto [error, n] = std::get<0>(read); error) {
        co_return error;
    }
    auto request = parser.release();
    if (!websocket::is_upgrade(request)) {
        // A browser or a health check that found the door: say what it is (RFC 9110 §15.5.22)
        // rather than close without a word.
        static constexpr std::string_view kUpgradeRequired =
            "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nConnection: close\r\n"
            "Content-Type: text/plain\r\nContent-Length: 59\r\n\r\n"
            "Nexus Relay tunnel door: agents connect here by WebSocket.\n";
        asio::steady_timer writeTimer(executor, timeout);
        co_await (asio::async_write(socket, asio::buffer(kUpgradeRequired),
                                    asio::as_tuple(asio::use_awaitable)) ||
                  writeTimer.async_wait(asio::as_tuple(asio::use_awaitable)));
        co_return makeError(Errc::ProtocolViolation);
    }
    // Behind the local proxy every agent would share 127.0.0.1; the proxy's header tells
    // them apart for the failure limits. Whether the peer is believed is the caller's call.
    const auto header = request["X-Forwarded-For"];
    forwardedFor = std::string(header.substr(0, header.find(',')));
    websocket::stream<tcp::socket> ws(std::move(socket));
    auto done = co_await withDeadline(ws.async_accept(request, asio::as_tuple(asio::use_awaitable)),
                                      executor, timeout);
    if (!done) {
        co_return done.error();
    }
    co_return std::make_unique<WebSocketTransport<tcp::socket>>(std::move(ws), peer);
}

}  // namespace nexus::net

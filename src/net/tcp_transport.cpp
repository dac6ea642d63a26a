// SPDX-License-Identifier: AGPL-3.0-or-later
// Transport over a plain TCP socket.
#include "net/transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace nexus::net {

asio::ip::address canonicalAddress(const asio::ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    }
    return address;
}

std::string formatEndpoint(const tcp::endpoint& endpoint) {
    const auto address = canonicalAddress(endpoint.address());
    const std::string port = std::to_string(endpoint.port());
    return address.is_v6() ? "[" + address.to_string() + "]:" + port
                           : address.to_string() + ":" + port;
}

asio::awaitable<void> Transport::writeGather(const std::vector<asio::const_buffer>& buffers,
                                             ErrorCode& ec) {
    for (const auto& buffer : buffers) {
        co_await writeAll(buffer, ec);
        if (ec) {
            co_return;
        }
    }
}

// A NAT that silently drops an idle session is the classic cause of a tunnel dead for days;
// kernel keepalives find it even when the application heartbeat is delayed.
void tuneSocket(tcp::socket& socket) {
    ErrorCode ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    socket.set_option(asio::socket_base::keep_alive(true), ignored);
    const int fd = socket.native_handle();
    const int idle = 30;
    const int interval = 10;
    const int count = 3;
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

namespace {

class TcpTransport final : public Transport {
public:
    explicit TcpTransport(tcp::socket socket) : socket_(std::move(socket)) {
        ErrorCode ec;
        const auto endpoint = socket_.remote_endpoint(ec);
        peer_ = ec ? std::string("unknown") : formatEndpoint(endpoint);
        tuneSocket(socket_);
    }

    asio::awaitable<std::size_t> readSome(asio::mutable_buffer buffer, ErrorCode& ec) override {
        auto [error, n] =
            co_await socket_.async_read_some(buffer, asio::as_tuple(asio::use_awaitable));
        ec = error;
        co_return n;
    }

    asio::awaitable<void> writeAll(asio::const_buffer buffer, ErrorCode& ec) override {
        auto [error, n] =
            co_await asio::async_write(socket_, buffer, asio::as_tuple(asio::use_awaitable));
        ec = error;
    }

    asio::awaitable<void> writeGather(const std::vector<asio::const_buffer>& buffers,
                                      ErrorCode& ec) override {
        auto [error, n] =
            co_await asio::async_write(socket_, buffers, asio::as_tuple(asio::use_awaitable));
        ec = error;
    }

    void close() override {
        ErrorCode ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

    const std::string& peer() const override { return peer_; }
    std::string_view door() const override { return "tcp"; }
    int nativeHandle() override { return socket_.is_open() ? socket_.native_handle() : -1; }

private:
    tcp::socket socket_;
    std::string peer_;
};

}  // namespace

std::unique_ptr<Transport> makeTcpTransport(tcp::socket socket) {
    return std::make_unique<TcpTransport>(std::move(socket));
}

}  // namespace nexus::net

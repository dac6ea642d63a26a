// SPDX-License-Identifier: AGPL-3.0-or-later
// parseHostPort, connectAny and connectWithTimeout.
#include "net/connect.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>

namespace nexus::net {

using namespace boost::asio::experimental::awaitable_operators;

Result<HostPort> parseHostPort(std::string_view text) {
    HostPort out;
    std::string_view port;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return makeError(Errc::InvalidArgument);
        }
        out.host = std::string(text.substr(1, close - 1));
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon) {
            return makeError(Errc::InvalidArgument);
        }
        out.host = std::string(text.substr(0, colon));
        port = text.substr(colon + 1);
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (out.host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() ||
        value == 0 || value > 65535) {
        return makeError(Errc::InvalidArgument);
    }
    out.port = static_cast<std::uint16_t>(value);
    return out;
}

asio::awaitable<Result<tcp::socket>> connectWithTimeout(
    const tcp::endpoint& endpoint, std::chrono::steady_clock::duration timeout) {
    auto executor = co_await asio::this_coro::executor;
    tcp::socket socket(executor);
    asio::steady_timer timer(executor, timeout);
    auto result = co_await (socket.async_connect(endpoint, asio::as_tuple(asio::use_awaitable)) ||
                            timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (result.index() == 1) {
        co_return makeError(Errc::Timeout);
    }
    auto [ec] = std::get<0>(result);
    if (ec) {
        co_return ec;
    }
    co_return std::move(socket);
}

asio::awaitable<Result<tcp::socket>> connectAny(const HostPort& target,
                                                std::chrono::steady_clock::duration perAddress) {
    auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    asio::steady_timer timer(executor, perAddress);
    const std::string service = std::to_string(target.port);
    auto resolved = co_await (
        resolver.async_resolve(target.host, service, asio::as_tuple(asio::use_awaitable)) ||
        timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (resolved.index() == 1) {
        co_return makeError(Errc::Timeout);
    }
    auto [ec, endpoints] = std::get<0>(resolved);
    if (ec) {
        co_return ec;
    }
    ErrorCode last = asio::error::host_not_found;
    for (const auto& entry : endpoints) {
        auto socket = co_await connectWithTimeout(entry.endpoint(), perAddress);
        if (socket) {
            co_return std::move(*socket);
        }
        last = socket.error();
    }
    co_return last;
}

}  // namespace nexus::net

// SPDX-License-Identifier: AGPL-3.0-or-later
// Test helper: the accept loop of an in-process stand-in server.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <functional>

namespace nexus::testkit {

/// Hands every connection accepted on `acceptor` to `onAccepted`, until the acceptor closes.
inline boost::asio::awaitable<void> acceptEach(
    boost::asio::ip::tcp::acceptor& acceptor,
    std::function<void(boost::asio::ip::tcp::socket)> onAccepted) {
    for (;;) {
        auto [ec, socket] =
            co_await acceptor.async_accept(boost::asio::as_tuple(boost::asio::use_awaitable));
        if (ec) {
            co_return;
        }
        onAccepted(std::move(socket));
    }
}

}  // namespace nexus::testkit

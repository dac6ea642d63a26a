// SPDX-License-Identifier: AGPL-3.0-or-later
// The daemons' local status pages (/healthz, /status, /metrics): a small HTTP/1.1 server for
// GET and HEAD on a listener that is bound (or handed over by systemd) elsewhere, on loopback
// by default. It serves what its routes compute at the moment of the request and nothing
// else: no body is read, heads are small, every connection has a deadline.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace nexus::net {

struct StatusReply {
    unsigned status = 200;
    std::string contentType = "text/plain; charset=utf-8";
    std::string body;
};

using StatusRoute = std::function<StatusReply()>;
/// A route that waits for something (a database) and reads the query: given the target.
using AsyncStatusRoute = std::function<boost::asio::awaitable<StatusReply>(std::string target)>;

class StatusListener {
public:
    static constexpr std::size_t kMaxHead = 8 * 1024;
    static constexpr std::chrono::seconds kDeadline{10};
    static constexpr std::size_t kMaxConnections = 64;

    /// `routes` maps an exact path ("/metrics") to what it serves; a query string is ignored.
    StatusListener(boost::asio::any_io_executor executor, std::map<std::string, StatusRoute> routes)
        : executor_(std::move(executor)), routes_(std::move(routes)) {}

    /// Accepts connections until the acceptor is closed.
    boost::asio::awaitable<void> run(boost::asio::ip::tcp::acceptor& acceptor);

    /// Serves `path` with `route` too (GET and HEAD), before run().
    void addAsync(std::string path, AsyncStatusRoute route) {
        asyncRoutes_.emplace(std::move(path), std::move(route));
    }

    /// What a request for `target` with `method` gets (the HTTP exchange aside).
    StatusReply answer(std::string_view method, std::string_view target) const;

private:
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

    boost::asio::any_io_executor executor_;
    std::map<std::string, StatusRoute> routes_;
    std::map<std::string, AsyncStatusRoute> asyncRoutes_;
    /// Shared with each connection's coroutine: one still pending when the loop is torn down
    /// after the listener may count down without touching a destroyed object.
    std::shared_ptr<std::size_t> connections_ = std::make_shared<std::size_t>(0);
};

}  // namespace nexus::net

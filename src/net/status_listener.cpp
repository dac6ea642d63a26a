// SPDX-License-Identifier: AGPL-3.0-or-later
// StatusListener: accept loop and one keep-alive connection per scraper.
#include "net/status_listener.hpp"

#include "net/frame_connection.hpp"
#include "net/spawn.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace nexus::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

StatusReply StatusListener::answer(std::string_view method, std::string_view target) const {
    if (method != "GET" && method != "HEAD") {
        return {405, "text/plain; charset=utf-8", "Method Not Allowed\n"};
    }
    const auto path = target.substr(0, target.find('?'));
    const auto route = routes_.find(std::string(path));
    if (route == routes_.end()) {
        return {404, "text/plain; charset=utf-8", "Not Found\n"};
    }
    return route->second();
}

asio::awaitable<void> StatusListener::run(tcp::acceptor& acceptor) {
    for (;;) {
        ErrorCode error;
        auto socket = co_await acceptWithPause(acceptor, error);
        if (!socket) {
            co_return;
        }
        if (error || *connections_ >= kMaxConnections) {
            continue;  // a scraper retries; the tunnels matter more than this page
        }
        asio::co_spawn(executor_, serve(std::move(*socket)),
                       reportFailures("a status page connection"));
    }
}

asio::awaitable<void> StatusListener::serve(tcp::socket socket) {
    ++*connections_;
    struct Release {
        std::shared_ptr<std::size_t> count;
        ~Release() { --*count; }
    } release{connections_};
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer(kMaxHead);  // bounded: a head that does not fit is refused
    for (;;) {
        http::request_parser<http::empty_body> parser;
        parser.header_limit(kMaxHead);
        parser.body_limit(0);
        stream.expires_after(kDeadline);
        auto [readError, n] =
            co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        if (readError) {
            co_return;
        }
        const auto& request = parser.get();
        const auto target = request.target();
        const auto waiting = asyncRoutes_.find(std::string(target.substr(0, target.find('?'))));
        StatusReply reply;
        if (waiting != asyncRoutes_.end() &&
            (request.method() == http::verb::get || request.method() == http::verb::head)) {
            reply = co_await waiting->second(std::string(target));
        } else {
            reply = answer(request.method_string(), target);
        }
        http::response<http::string_body> response{static_cast<http::status>(reply.status),
                                                   request.version()};
        response.set(http::field::content_type, reply.contentType);
        response.set(http::field::cache_control, "no-store");
        response.keep_alive(request.keep_alive());
        response.body() = reply.body;
        response.prepare_payload();
        if (request.method() == http::verb::head) {
            response.body().clear();  // the length stays that of the GET
        }
        auto [writeError, written] =
            co_await http::async_write(stream, response, asio::as_tuple(asio::use_awaitable));
        if (writeError || !request.keep_alive()) {
            beast::error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
            co_return;
        }
    }
}

}  // namespace nexus::net

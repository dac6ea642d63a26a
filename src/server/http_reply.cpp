// SPDX-License-Identifier: AGPL-3.0-or-later
// writeReply and the offline page.
#include "server/http_reply.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <fmt/format.h>

namespace nexus::server {

namespace http = boost::beast::http;

boost::asio::awaitable<bool> writeReply(net::TimedStream& stream, const Reply& reply) {
    http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
    res.set(http::field::server, "nexus-relay");
    if (!reply.location.empty()) {
        res.set(http::field::location, reply.location);
    }
    if (!reply.body.empty()) {
        res.set(http::field::content_type, reply.contentType);
        res.set(http::field::cache_control, "no-store");
    }
    res.keep_alive(reply.keepAlive);
    res.body() = reply.body;
    res.prepare_payload();
    if (reply.headOnly) {
        res.body().clear();  // Content-Length keeps describing the GET response
    }
    stream.expires_after(std::chrono::seconds(30));
    auto [ec, n] =
        co_await http::async_write(stream, res, boost::asio::as_tuple(boost::asio::use_awaitable));
    co_return !ec;
}

boost::asio::awaitable<bool> writeContinue(net::TimedStream& stream) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream.expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await boost::asio::async_write(
        stream, boost::asio::buffer(kContinue), boost::asio::as_tuple(boost::asio::use_awaitable));
    co_return !ec;
}

boost::asio::awaitable<bool> writeText(net::TimedStream& stream, unsigned status,
                                       std::string_view body, bool keepAlive) {
    const Reply reply{.status = status, .body = std::string(body), .keepAlive = keepAlive};
    const bool written = co_await writeReply(stream, reply);
    const bool reusable = written && keepAlive;
    co_return reusable;
}

std::string offlinePage(std::string_view slug) {
    return fmt::format(R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{0} is offline</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}}</style>
</head><body>
<h1>This instance is offline</h1>
<p>The Nexus community <strong>{0}</strong> is registered on this relay, but its server is not
connected right now. It may be restarting or its owner's machine may be off.</p>
<p>Try again in a few minutes.</p>
</body></html>
)",
                       slug);
}

}  // namespace nexus::server

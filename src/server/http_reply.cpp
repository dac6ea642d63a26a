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
    if (reply.retryAfter != 0) {
        res.set(http::field::retry_after, std::to_string(reply.retryAfter));
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

unsigned answerStatus(Answer answer) {
    switch (answer) {
        case Answer::BadRequest: return 400;
        case Answer::NotFound: return 404;
        case Answer::BodyTooLarge: return 413;
        case Answer::HeadersTooLarge: return 431;
        case Answer::NotImplemented: return 501;
        case Answer::Unavailable: return 503;
        case Answer::NoResponseInTime: return 504;
        case Answer::LocalUnreachable:
        case Answer::InvalidAgentResponse:
        case Answer::InvalidUpgrade: return 502;
        case Answer::ResponseBuildError: return 500;
    }
    return 500;
}

std::string answerText(Answer answer, std::string_view slug) {
    switch (answer) {
        case Answer::BadRequest: return "Bad Request";
        case Answer::NotFound: return "Not Found";
        case Answer::BodyTooLarge: return "Request body too large for this tunnel";
        case Answer::HeadersTooLarge: return "Request Header Fields Too Large";
        case Answer::NotImplemented: return "Not Implemented";
        case Answer::Unavailable: return fmt::format("Relay for '{}' is unavailable", slug);
        case Answer::NoResponseInTime: return "Relay client did not respond in time";
        case Answer::LocalUnreachable: return "Local server unreachable";
        case Answer::InvalidAgentResponse: return "Invalid response from the relay client";
        case Answer::InvalidUpgrade: return "Invalid upgrade response";
        case Answer::ResponseBuildError: return "Response build error";
    }
    return "Internal Server Error";
}

boost::asio::awaitable<bool> writeAnswer(net::TimedStream& stream, Answer answer, bool keepAlive) {
    const Reply reply{
        .status = answerStatus(answer), .body = answerText(answer), .keepAlive = keepAlive};
    const bool written = co_await writeReply(stream, reply);
    const bool reusable = written && keepAlive;
    co_return reusable;
}

boost::asio::awaitable<bool> reply(HttpExchange& exchange, const Reply& reply) {
    exchange.record.answered(reply.status);
    const bool written = co_await writeReply(exchange.stream, reply);
    if (written && !reply.headOnly) {
        exchange.record.bytesOut += reply.body.size();
    }
    co_return written;
}

boost::asio::awaitable<bool> answer(HttpExchange& exchange, Answer answer, bool keepAlive,
                                    std::string_view slug) {
    const Reply text{.status = answerStatus(answer),
                     .body = answerText(answer, slug),
                     .keepAlive = keepAlive,
                     // Not the parser's method: a tunnel may have moved the parser on.
                     .headOnly = exchange.record.method == "HEAD"};
    const bool written = co_await reply(exchange, text);
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

// SPDX-License-Identifier: AGPL-3.0-or-later
// The relay's own responses to a visitor (redirects, errors, the offline page): every status
// and text a visitor can get from the relay rather than from an instance is defined here.
#pragma once

#include "net/timed_stream.hpp"
#include "server/tunnel.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/status.hpp>

#include <string>
#include <string_view>

namespace nexus::server {

/// The answers the relay gives in place of an instance's (docs/protocol.md §4.6 says when).
enum class Answer {
    BadRequest,            ///< 400: a request the front cannot pass on, or a broken body
    NotFound,              ///< 404: a slug with no tunnel and no URL to send the visitor to
    BodyTooLarge,          ///< 413: a v1 body that cannot fit in one frame
    HeadersTooLarge,       ///< 431
    NotImplemented,        ///< 501: a transfer coding other than chunked
    Unavailable,           ///< 503 "Relay for 'SLUG' is unavailable": no tunnel, or it is full
    NoResponseInTime,      ///< 504: the agent did not answer within the deadline
    LocalUnreachable,      ///< 502: the agent could not reach the instance
    InvalidAgentResponse,  ///< 502: an interim 1xx as the final response
    InvalidUpgrade,        ///< 502: a 101 that does not prove the switch to WebSocket
    ResponseBuildError,    ///< 500: a v1 status outside 100-999
};

unsigned answerStatus(Answer answer);
/// The plain-text body; `slug` names the tunnel where the text does.
std::string answerText(Answer answer, std::string_view slug = {});

struct Reply {
    unsigned status = 200;
    std::string body;
    std::string contentType = "text/plain; charset=utf-8";
    std::string location;     ///< sets Location when not empty
    unsigned retryAfter = 0;  ///< seconds; sets Retry-After when not zero
    bool keepAlive = true;
    bool headOnly = false;  ///< a HEAD request: headers only
};

/// Writes the reply; returns false if the visitor went away.
/// Coroutine rule in this code base: never pass a temporary with a destructor into a
/// co_await expression (GCC 12 destroys such temporaries twice); name it first.
boost::asio::awaitable<bool> writeReply(net::TimedStream& stream, const Reply& reply);

/// Writes `answer` on a connection with no exchange yet (a head that could not be read);
/// returns `keepAlive` if written, false if the visitor went away.
boost::asio::awaitable<bool> writeAnswer(net::TimedStream& stream, Answer answer, bool keepAlive);

/// Answers the exchange's request with `answer` and records it in the exchange's record.
boost::asio::awaitable<bool> answer(HttpExchange& exchange, Answer answer, bool keepAlive,
                                    std::string_view slug = {});

/// Writes `reply` for the exchange's request and records it; true if written.
boost::asio::awaitable<bool> reply(HttpExchange& exchange, const Reply& reply);

/// "HTTP/1.1 100 Continue": the visitor may send the body it holds back; false if it went away.
boost::asio::awaitable<bool> writeContinue(net::TimedStream& stream);

/// The page shown when an instance's fallback URL would loop back through the relay.
std::string offlinePage(std::string_view slug);

}  // namespace nexus::server

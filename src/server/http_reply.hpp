// SPDX-License-Identifier: AGPL-3.0-or-later
// Writing the relay's own responses (redirects, errors, the offline page) to a visitor.
#pragma once

#include "net/timed_stream.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/status.hpp>

#include <string>
#include <string_view>

namespace nexus::server {

/// The relay's answer when an agent's response cannot be passed on (an interim 1xx as final).
inline constexpr std::string_view kInvalidAgentResponse = "Invalid response from the relay client";

struct Reply {
    unsigned status = 200;
    std::string body;
    std::string contentType = "text/plain; charset=utf-8";
    std::string location;  ///< sets Location when not empty
    bool keepAlive = true;
    bool headOnly = false;  ///< a HEAD request: headers only
};

/// Writes the reply; returns false if the visitor went away.
/// Coroutine rule in this code base: never pass a temporary with a destructor into a
/// co_await expression (GCC 12 destroys such temporaries twice); name it first.
boost::asio::awaitable<bool> writeReply(net::TimedStream& stream, const Reply& reply);

/// A plain-text reply; returns `keepAlive` if written, false if the visitor went away.
boost::asio::awaitable<bool> writeText(net::TimedStream& stream, unsigned status,
                                       std::string_view body, bool keepAlive);

/// "HTTP/1.1 100 Continue": the visitor may send the body it holds back; false if it went away.
boost::asio::awaitable<bool> writeContinue(net::TimedStream& stream);

/// The page shown when an instance's fallback URL would loop back through the relay.
std::string offlinePage(std::string_view slug);

}  // namespace nexus::server

// SPDX-License-Identifier: AGPL-3.0-or-later
// Reading a visitor's request from the front's connection with the limits of
// request_framing.hpp. Every read of a request, head and body, by the front or by a tunnel,
// goes through here rather than through Beast's http::read: the connection's buffer then
// never holds more than those limits allow, whatever the parser is waiting for.
#pragma once

#include "common/error.hpp"
#include "net/timed_stream.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>

namespace nexus::server {

/// Reads until the parser has the whole head (it must not be eager). Errors are Beast's, with
/// http::error::header_limit for a head above kMaxRequestHead.
boost::asio::awaitable<ErrorCode> readRequestHead(net::TimedStream& stream,
                                                  boost::beast::flat_buffer& buffer,
                                                  boost::beast::http::basic_parser<true>& parser);

/// Reads the body until the parser is done or, for a buffer_body, until its buffer is full
/// (http::error::need_buffer), as http::read does. A chunk line, extension or trailer section
/// above kMaxChunkFraming is http::error::bad_chunk; a visitor that closes before the end,
/// http::error::partial_message.
boost::asio::awaitable<ErrorCode> readRequestBody(net::TimedStream& stream,
                                                  boost::beast::flat_buffer& buffer,
                                                  boost::beast::http::basic_parser<true>& parser);

}  // namespace nexus::server

// SPDX-License-Identifier: AGPL-3.0-or-later
// How the HTTP front delimits a visitor's request (RFC 9112 §6), with no I/O so it can be
// fuzzed. Every tenant behind Caddy shares the front's connections: a request whose end the
// relay reads differently from the sender would let its body be read as a request of its own,
// routed to another tenant. So there is one reading, the strict one, checked on every head
// before routing, and every byte the parser holds back unparsed is bounded.
#pragma once

#include "common/error.hpp"
#include "net/head_arena.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/empty_body.hpp>

#include <cstddef>

namespace nexus::server {

/// The request head, from the method to the empty line: above it, 431.
inline constexpr std::size_t kMaxRequestHead = 64 * 1024;
/// A chunk-size line with its extensions, and the last chunk with the trailer section: as
/// Go's server bounds chunk lines. Above it, 400.
inline constexpr std::size_t kMaxChunkFraming = 4 * 1024;

/// What the front does with a request once its head is parsed.
struct RequestFraming {
    unsigned status = 0;  ///< 0: acceptable; else answer this and close (400, 501)
    bool close = false;   ///< acceptable, but the connection closes after the response
};

/// Checks the head's message framing: at most one Transfer-Encoding field, whose value is
/// exactly `chunked` (other codings: 501; chunked not final or repeated, an empty or malformed
/// list: 400), never with Content-Length (400); Transfer-Encoding in an HTTP/1.0 request
/// closes the connection after the response.
RequestFraming checkRequestFraming(const net::Fields& fields, unsigned version, bool parserChunked);

/// The front's request parser settings: the head limit, and no body limit (the tunnel sets
/// its own, it knows whether it streams or buffers).
void configureRequestParser(net::RequestParser<boost::beast::http::empty_body>& parser);

/// The bytes of one request seen so far, for the limits on what the parser holds back.
struct RequestProgress {
    std::size_t headBytes = 0;  ///< taken by the parser before its head was done
};

/// Hands `bytes` (what the connection's buffer holds) to the parser; `used` is how many it
/// took. Like basic_parser::put, but need_more becomes http::error::header_limit once the
/// head would exceed kMaxRequestHead, and http::error::bad_chunk once kMaxChunkFraming bytes
/// of a chunked body wait unparsed: the caller may then never read more into its buffer.
ErrorCode feedRequest(boost::beast::http::basic_parser<true>& parser,
                      boost::asio::const_buffer bytes, RequestProgress& progress,
                      std::size_t& used);

}  // namespace nexus::server

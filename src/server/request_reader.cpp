// SPDX-License-Identifier: AGPL-3.0-or-later
// The read loop of the front's requests: feed what is buffered, read only when the parser
// needs more, never beyond the buffer's bound.
#include "server/request_reader.hpp"

#include "server/request_framing.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>

namespace nexus::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

asio::awaitable<ErrorCode> readRequest(net::TimedStream& stream, beast::flat_buffer& buffer,
                                       http::basic_parser<true>& parser, bool headOnly) {
    RequestProgress progress;
    for (;;) {
        if (headOnly ? parser.is_header_done() : parser.is_done()) {
            co_return ErrorCode{};  // e.g. a request without a body: nothing more to read
        }
        if (buffer.size() > 0) {
            std::size_t used = 0;
            const ErrorCode ec = feedRequest(parser, buffer.data(), progress, used);
            buffer.consume(used);
            if (ec && ec != http::error::need_more) {
                co_return ec;
            }
            if (!ec && used > 0) {
                continue;  // it took bytes and may take the rest
            }
        }
        // The limits above fail before the buffer is full; its bound is the last line.
        const std::size_t room = buffer.max_size() - buffer.size();
        if (room == 0) {
            co_return http::error::buffer_overflow;
        }
        // As Beast reads: what the buffer already has room for, at least 512 bytes.
        const std::size_t want =
            std::min(room, std::max<std::size_t>(512, buffer.capacity() - buffer.size()));
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(want),
                                                       asio::as_tuple(asio::use_awaitable));
        buffer.commit(n);
        if (ec == asio::error::eof) {
            if (!parser.got_some()) {
                co_return http::error::end_of_stream;
            }
            ErrorCode eofError;
            parser.put_eof(eofError);
            co_return eofError;
        }
        if (ec) {
            co_return ec;
        }
    }
}

}  // namespace

asio::awaitable<ErrorCode> readRequestHead(net::TimedStream& stream, beast::flat_buffer& buffer,
                                           http::basic_parser<true>& parser) {
    return readRequest(stream, buffer, parser, true);
}

asio::awaitable<ErrorCode> readRequestBody(net::TimedStream& stream, beast::flat_buffer& buffer,
                                           http::basic_parser<true>& parser) {
    parser.eager(true);
    return readRequest(stream, buffer, parser, false);
}

}  // namespace nexus::server

// SPDX-License-Identifier: AGPL-3.0-or-later
// The request framing check and the bounded feeding of the front's parser.
#include "server/request_framing.hpp"

#include "common/ascii.hpp"
#include "net/http_headers.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>

#include <string_view>

namespace nexus::server {

namespace http = boost::beast::http;

namespace {

constexpr std::size_t kMinChunkedFeed = 5;

/// The transfer codings of every Transfer-Encoding field, read as one list in field order.
struct Codings {
    std::size_t fields = 0;
    std::size_t count = 0;
    std::size_t chunked = 0;
    bool lastChunked = false;
    bool malformed = false;  ///< an empty element, a parameter, quotes: anything but a token

    void add(std::string_view value) {
        ++fields;
        for (;;) {
            const auto comma = value.find(',');
            const std::string_view item = net::trimOws(value.substr(0, comma));
            if (!net::isToken(item)) {
                malformed = true;
            } else {
                ++count;
                lastChunked = asciiLower(item) == "chunked";
                chunked += lastChunked ? 1 : 0;
            }
            if (comma == std::string_view::npos) {
                return;
            }
            value.remove_prefix(comma + 1);
        }
    }
};

}  // namespace

RequestFraming checkRequestFraming(const net::Fields& fields, unsigned version,
                                   bool parserChunked) {
    Codings codings;
    bool hasLength = false;
    for (const auto& field : fields) {
        if (field.name() == http::field::transfer_encoding) {
            codings.add(field.value());
        } else if (field.name() == http::field::content_length) {
            hasLength = true;
        }
    }
    if (codings.fields == 0) {
        // Beast reads chunked only from a Transfer-Encoding field; anything else is a bug to
        // stop here rather than a body to guess.
        return parserChunked ? RequestFraming{.status = 400} : RequestFraming{};
    }
    // RFC 9112 §6.3: with Content-Length, or chunked not final (or applied twice), the length
    // cannot be determined reliably: 400 and close. A list we cannot read is no better.
    if (hasLength || codings.malformed || !codings.lastChunked || codings.chunked > 1) {
        return {.status = 400};
    }
    // Chunked last and once, but after other codings (or spread over several fields, as Go's
    // and nginx's servers refuse too): codings the relay does not implement.
    if (codings.count > 1 || codings.fields > 1) {
        return {.status = 501};
    }
    if (!parserChunked) {
        return {.status = 400};
    }
    // RFC 9112 §6.1: HTTP/1.0 has no Transfer-Encoding; the framing is suspect, so the
    // connection ends with this request.
    return {.close = version < 11};
}

void configureRequestParser(net::RequestParser<http::empty_body>& parser) {
    parser.header_limit(kMaxRequestHead);
    // The body limit depends on where the request goes (the tunnel decides); without this
    // Beast would refuse a Content-Length above 1 MiB while reading the header.
    parser.body_limit(boost::none);
}

ErrorCode feedRequest(http::basic_parser<true>& parser, boost::asio::const_buffer bytes,
                      RequestProgress& progress, std::size_t& used) {
    const bool inHead = !parser.is_header_done();
    if (!inHead && parser.chunked() && bytes.size() < kMinChunkedFeed) {
        // Beast asserts (and, in builds with assertions, aborts the whole relay) when it is
        // handed fewer than 5 bytes after it has seen a last chunk without its end: `0\r\n`,
        // then one more byte. A chunked body always has at least `0\r\n\r\n` still to come,
        // so holding such a small remainder until more arrives costs nothing.
        used = 0;
        return http::error::need_more;
    }
    ErrorCode ec;
    used = parser.put(bytes, ec);
    if (inHead) {
        // Beast's own header_limit applies to each call's bytes, not to the head: fields it
        // took in earlier calls do not count against it. This sum does, however the head
        // ends (the parser is not eager: a call that ends the head takes nothing after it).
        progress.headBytes += used;
        if (parser.is_header_done() && progress.headBytes > kMaxRequestHead) {
            return http::error::header_limit;
        }
    }
    if (ec != http::error::need_more) {
        return ec;
    }
    const std::size_t waiting = bytes.size() - used;
    if (!parser.is_header_done()) {
        if (progress.headBytes + waiting >= kMaxRequestHead) {
            return http::error::header_limit;
        }
    } else if (parser.chunked() && waiting >= kMaxChunkFraming) {
        // A chunk line, its extensions or the trailers that never end: Beast would keep them
        // all in the buffer until they did.
        return http::error::bad_chunk;
    }
    return ec;
}

}  // namespace nexus::server

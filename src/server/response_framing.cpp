// SPDX-License-Identifier: AGPL-3.0-or-later
// Response heads, chunk lines and last chunks for the visitor's connection.
#include "server/response_framing.hpp"

#include "net/http_headers.hpp"

#include <boost/beast/http/status.hpp>

#include <charconv>
#include <iterator>

namespace nexus::server {

namespace v2 = protocol::v2;
namespace http = boost::beast::http;

namespace {

void appendDecimal(std::string& text, std::uint64_t value) {
    char digits[20];
    const auto end = std::to_chars(std::begin(digits), std::end(digits), value).ptr;
    text.append(digits, end);
}

}  // namespace

ResponseFraming chooseFraming(const v2::ReceivedResponse& response, bool headRequest,
                              bool keepAlive, unsigned visitorVersion) {
    const int status = response.status;
    ResponseFraming framing{.length = v2::contentLength(response.headers()),
                            .keepAlive = keepAlive};
    if (net::responseHasNoBody(static_cast<unsigned>(status), headRequest)) {
        framing.body = BodyFraming::None;
        if (!headRequest) {
            framing.length.reset();  // no body, and no length to announce for one
        }
    } else if (framing.length) {
        framing.body = BodyFraming::ContentLength;
    } else if (visitorVersion >= 11) {
        framing.body = BodyFraming::Chunked;
    } else {
        framing.body = BodyFraming::Close;
        framing.keepAlive = false;
    }
    return framing;
}

std::string responseHeadText(const v2::ReceivedResponse& response, const ResponseFraming& framing) {
    const auto known = http::obsolete_reason(static_cast<http::status>(response.status));
    // An unknown code gets an empty reason phrase, which HTTP allows, not Beast's placeholder.
    const std::string_view reason =
        known.starts_with('<') ? std::string_view() : std::string_view(known.data(), known.size());
    std::string text;
    // The fields with their separators take at most what they took in the frame (6 bytes
    // of lengths against 4 of ": " and CRLF), plus the status line and the framing fields.
    text.reserve(response.payload.size() + 128);
    text.append("HTTP/1.1 ");
    appendDecimal(text, response.status);
    text.append(" ").append(reason).append("\r\n");
    // The v2 decoder let through only lowercase token names and values without CR, LF or
    // NUL (decodeReceivedResponse): what is left to drop frames or routes the message.
    for (const auto& [name, value] : response.headers()) {
        if (!net::isHopByHop(name) && name != "content-length") {
            net::appendField(text, name, value);
        }
    }
    if (framing.length) {
        text += "content-length: ";
        appendDecimal(text, *framing.length);
        text += "\r\n";
    } else if (framing.body == BodyFraming::Chunked) {
        text += "transfer-encoding: chunked\r\n";
    }
    if (!framing.keepAlive) {
        text += "connection: close\r\n";
    }
    text += "\r\n";
    return text;
}

std::string lastChunk(const v2::HeaderList& trailers) {
    std::string text = "0\r\n";
    for (const auto& [name, value] : trailers) {
        if (net::isPassableField(name, value) && name != "content-length" &&
            name != "transfer-encoding") {
            net::appendField(text, name, value);
        }
    }
    text += "\r\n";
    return text;
}

}  // namespace nexus::server

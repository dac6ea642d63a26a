// SPDX-License-Identifier: AGPL-3.0-or-later
// v2 heads to and from HTTP/1.1 for the local app.
#include "client/v2_local_http.hpp"

#include "common/ascii.hpp"
#include "net/http_headers.hpp"

#include <algorithm>
#include <iterator>
#include <string>

namespace nexus::client {

namespace http = boost::beast::http;
namespace v2 = protocol::v2;

namespace {

bool bodyMethod(std::string_view method) {
    return method == "POST" || method == "PUT" || method == "PATCH";
}

}  // namespace

bool isWebSocketUpgrade(v2::HeaderBlockView headers) {
    return std::any_of(headers.begin(), headers.end(), [](const auto& field) {
        return field.first == "upgrade" && net::listsToken(field.second, "websocket");
    });
}

LocalRequest makeLocalRequest(const v2::ReceivedRequest& head, bool hasBody, bool webSocket,
                              const AgentConfig& config) {
    LocalRequest request;
    std::string& text = request.head;
    text.reserve(512);
    text.append(head.method()).append(" ").append(head.target()).append(" HTTP/1.1\r\n");
    bool hostSeen = false;
    for (const auto& [name, value] : head.headers()) {
        const bool upgradeField = webSocket && name == "upgrade";
        if ((net::isHopByHop(name) && !upgradeField) || name == "content-length" ||
            !net::isToken(name) || !net::isSafeFieldValue(value)) {
            continue;
        }
        if (name == "host") {
            if (hostSeen || config.hostHeader) {
                continue;
            }
            hostSeen = true;
        }
        net::appendField(text, name, value);
    }
    if (config.hostHeader) {
        net::appendField(text, "Host", *config.hostHeader);
    } else if (!hostSeen) {
        net::appendField(text, "Host", config.localHost + ":" + std::to_string(config.localPort));
    }
    if (webSocket) {
        net::appendField(text, "Connection", "Upgrade");
    }
    const auto length = v2::contentLength(head.headers());
    if (hasBody) {
        if (length) {
            net::appendField(text, "Content-Length", std::to_string(*length));
        } else {
            request.chunked = true;
            net::appendField(text, "Transfer-Encoding", "chunked");
        }
    } else if (bodyMethod(head.method()) || length) {
        net::appendField(text, "Content-Length", "0");  // as v1 does: a POST without a body says so
    }
    text.append("\r\n");
    return request;
}

Result<LocalBodyFraming> appendResponseFrame(std::string& out, std::uint32_t stream,
                                             ResponseHeadReader& reader, bool headRequest) {
    v2::ResponseFrameBuilder frame(out, stream, reader.status());
    while (const auto field = reader.nextField()) {
        if (!field->hopByHop) {
            // A field that cannot travel (a value with CR/LF/NUL is refused by the reader
            // already; a name too long for the frame) is dropped, not the response.
            (void)frame.addLowercased(field->name, field->value);
        }
    }
    if (reader.error()) {
        frame.cancel();
        return reader.error();
    }
    const auto framing = reader.framing(headRequest);
    if (auto finished = frame.finish(framing == LocalBodyFraming::None && reader.status() != 101);
        !finished) {
        return finished.error();
    }
    return framing;
}

v2::HeaderList trailerFields(const http::fields& fields, std::size_t headerFields) {
    v2::HeaderList trailers;
    std::size_t index = 0;
    for (const auto& field : fields) {
        if (index++ < headerFields) {
            continue;
        }
        std::string name = asciiLower(field.name_string());
        if (net::isHopByHop(name) || name == "content-length" || name == "host" ||
            !net::isToken(name) || !net::isSafeFieldValue(field.value())) {
            continue;
        }
        trailers.emplace_back(std::move(name), std::string(field.value()));
    }
    return trailers;
}

std::string_view pathForLog(std::string_view target) {
    return target.substr(0, target.find('?'));
}

}  // namespace nexus::client

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

bool isWebSocketUpgrade(const v2::HeaderList& headers) {
    return std::any_of(headers.begin(), headers.end(), [](const auto& field) {
        return field.first == "upgrade" && net::listsToken(field.second, "websocket");
    });
}

LocalRequest makeLocalRequest(const v2::RequestHead& head, bool hasBody, bool webSocket,
                              const AgentConfig& config) {
    LocalRequest request;
    std::string& text = request.head;
    text.reserve(512);
    text.append(head.method).append(" ").append(head.target).append(" HTTP/1.1\r\n");
    bool hostSeen = false;
    for (const auto& [name, value] : head.headers) {
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
    const auto length = v2::contentLength(head.headers);
    if (hasBody) {
        if (length) {
            net::appendField(text, "Content-Length", std::to_string(*length));
        } else {
            request.chunked = true;
            net::appendField(text, "Transfer-Encoding", "chunked");
        }
    } else if (bodyMethod(head.method) || length) {
        net::appendField(text, "Content-Length", "0");  // as v1 does: a POST without a body says so
    }
    text.append("\r\n");
    return request;
}

namespace {
// The hop-by-hop fields (net::isHopByHop), by the parser's own field codes: no lowercased
// copy of the name is needed to recognise them.
bool isHopByHop(http::field name) {
    switch (name) {
        case http::field::connection:
        case http::field::keep_alive:
        case http::field::proxy_authenticate:
        case http::field::proxy_authorization:
        case http::field::proxy_connection:
        case http::field::te:
        case http::field::trailer:
        case http::field::transfer_encoding:
        case http::field::upgrade: return true;
        default: return false;
    }
}
}  // namespace

Result<void> appendResponseFrame(std::string& out, std::uint32_t stream,
                                 const http::response_header<net::Fields>& response,
                                 std::size_t headerFields, bool endStream) {
    const int status = static_cast<int>(response.result_int());
    const bool switching = status == 101;
    v2::ResponseFrameBuilder frame(out, stream, status);
    std::size_t index = 0;
    for (const auto& field : response) {
        if (index++ == headerFields) {
            break;
        }
        const http::field name = field.name();
        const bool upgradeField =
            switching && (name == http::field::upgrade || name == http::field::connection);
        if (isHopByHop(name) && !upgradeField) {
            continue;
        }
        // A field that cannot travel (a name that is no token, a value with CR/LF/NUL) is
        // dropped, not the response.
        (void)frame.addLowercased(field.name_string(), field.value());
    }
    return frame.finish(endStream);
}

v2::HeaderList trailerFields(const http::response_header<net::Fields>& response,
                             std::size_t headerFields) {
    v2::HeaderList trailers;
    std::size_t index = 0;
    for (const auto& field : response) {
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

// SPDX-License-Identifier: AGPL-3.0-or-later
// LocalForwarder: request validation, the HTTP/1.1 exchange with the local app, the pool.
#include "client/local_forwarder.hpp"

#include "client/local_response_head.hpp"
#include "common/ascii.hpp"
#include "net/http_headers.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <cctype>
#include <optional>

namespace nexus::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace v1 = protocol::v1;

v1::Response agentError(const std::string& id, int status, std::string body) {
    return v1::Response{id, status, {}, std::move(body), false};
}

LocalForwarder::LocalForwarder(const AgentConfig& config, LocalPool& pool)
    : config_(config), pool_(pool) {}

// Origin form only: "/" followed by visible ASCII. Anything else (absolute URLs, "@host",
// "//host", spaces, CR/LF) could make the request reach another host or split the message.
bool isOriginForm(std::string_view target) {
    return target.starts_with('/') && !target.starts_with("//") &&
           std::all_of(target.begin(), target.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

namespace {

using ResponseParser = http::response_parser<http::string_body>;

// Reads the app's final response into `parser`: interim ones (100 Continue, 103 Early Hints…)
// are read and dropped, a bounded number of them; a parser takes one message, so each gets a
// new one. `gotSome`: the app sent a byte of its answer (the request may have been acted on).
asio::awaitable<ErrorCode> readFinalResponse(LocalPool::Stream& stream, beast::flat_buffer& buffer,
                                             std::optional<ResponseParser>& parser,
                                             bool headRequest, bool& gotSome) {
    for (int interim = 0;; ++interim) {
        parser.emplace();
        parser->body_limit(LocalForwarder::kMaxBody);
        parser->header_limit(kMaxResponseHead);
        parser->skip(headRequest);  // a HEAD response announces a body it never sends
        auto [error, read] =
            co_await http::async_read(stream, buffer, *parser, asio::as_tuple(asio::use_awaitable));
        gotSome = gotSome || parser->got_some();
        if (error || !isInterim(static_cast<int>(parser->get().result_int()))) {
            co_return error;
        }
        if (interim == kMaxInterimResponses) {
            co_return makeError(Errc::ProtocolViolation);
        }
    }
}

}  // namespace

asio::awaitable<LocalForwarder::Outcome> LocalForwarder::forward(const v1::Request& in) {
    if (!net::isToken(in.method)) {
        co_return Outcome{agentError(in.id, 400, "Invalid HTTP method"), {}};
    }
    if (!isOriginForm(in.path)) {
        co_return Outcome{agentError(in.id, 400, "Invalid request target"), {}};
    }
    http::request<http::string_body> request;
    request.method_string(in.method);
    request.target(in.path);
    request.version(11);
    bool hostSeen = false;
    for (const auto& [name, value] : in.headers) {
        const std::string key = asciiLower(name);
        // The body goes with the head anyway: an Expect (from a relay that forwards it) would
        // only draw a 100 Continue for nothing.
        if (net::isHopByHop(key) || key == "content-length" || key == "expect" ||
            !net::isToken(key) || !net::isSafeFieldValue(value)) {
            continue;
        }
        if (key == "host") {
            if (hostSeen || config_.hostHeader) {
                continue;
            }
            hostSeen = true;
        }
        request.insert(name, value);
    }
    if (config_.hostHeader) {
        request.set(http::field::host, *config_.hostHeader);
    } else if (!hostSeen) {
        request.set(http::field::host, config_.localHost + ":" + std::to_string(config_.localPort));
    }
    request.keep_alive(true);
    request.body() = in.body;
    if (!in.body.empty() || in.method == "POST" || in.method == "PUT" || in.method == "PATCH") {
        request.content_length(in.body.size());
    }

    ErrorCode failure;
    for (int attempt = 0; attempt < 2; ++attempt) {
        bool reused = false;
        auto stream = co_await pool_.checkout(reused);
        if (!stream) {
            failure = stream.error();
            break;
        }
        (*stream)->expires_after(config_.localTimeout);
        auto [writeError, written] =
            co_await http::async_write(**stream, request, asio::as_tuple(asio::use_awaitable));
        std::optional<ResponseParser> parser;
        beast::flat_buffer buffer;
        bool gotSome = false;
        ErrorCode readError = writeError;
        if (!writeError) {
            readError =
                co_await readFinalResponse(**stream, buffer, parser, in.method == "HEAD", gotSome);
        }
        if (readError == http::error::body_limit) {
            co_return Outcome{agentError(in.id, 502, "Response too large for this tunnel"),
                              readError};
        }
        if (readError) {
            failure = readError;
            // A pooled connection the app closed while idle: retry once on a fresh one,
            // but never replay a request the app may already have acted on.
            if (reused && !gotSome && (writeError || net::isIdempotent(in.method))) {
                continue;
            }
            break;
        }
        auto& response = parser->get();
        if (response.result_int() == 101) {
            // No request through v1 asks for an upgrade (its fields are hop-by-hop): the
            // connection now speaks something else, and is dropped with its bytes.
            co_return Outcome{agentError(in.id, 502, "Invalid upgrade response"),
                              makeError(Errc::ProtocolViolation)};
        }
        v1::Response out{in.id, static_cast<int>(response.result_int()), {}, {}, false};
        for (const auto& field : response) {
            std::string name = asciiLower(field.name_string());
            if (!net::isHopByHop(name)) {
                out.headers.emplace_back(std::move(name), std::string(field.value()));
            }
        }
        out.body = std::move(response.body());
        if (response.keep_alive() && buffer.size() == 0) {
            pool_.checkin(std::move(*stream));
        }
        co_return Outcome{std::move(out), {}};
    }
    co_return Outcome{agentError(in.id, 502, "Local server unreachable"), failure};
}

}  // namespace nexus::client

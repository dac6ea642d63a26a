// SPDX-License-Identifier: AGPL-3.0-or-later
// HttpFront: keep-alive connection loop and routing.
#include "server/http_front.hpp"

#include "net/frame_connection.hpp"
#include "net/http_headers.hpp"
#include "net/spawn.hpp"
#include "net/transport.hpp"
#include "server/forwarding_headers.hpp"
#include "server/host_route.hpp"
#include "server/http_reply.hpp"
#include "server/request_framing.hpp"
#include "server/request_id.hpp"
#include "server/request_reader.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>

namespace nexus::server {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// A path longer than this is recorded cut: the record feeds one log line.
constexpr std::size_t kMaxRecordedPath = 1024;
}  // namespace

asio::awaitable<void> HttpFront::run(tcp::acceptor& acceptor) {
    accepting_ = true;
    for (;;) {
        ErrorCode error;
        auto socket = co_await net::acceptWithPause(acceptor, error);
        if (!socket) {
            accepting_ = false;
            changed();
            co_return;
        }
        if (error) {
            // Out of descriptors must not take every tunnel down: keep accepting.
            context_.log.error(fmt::format("Accept error on the HTTP front: {}", error.message()));
            continue;
        }
        ++starting_;
        asio::co_spawn(context_.executor, serveConnection(std::move(*socket)),
                       net::reportFailures("a visitor's connection"));
    }
}

asio::awaitable<void> HttpFront::serveConnection(tcp::socket socket) {
    --starting_;  // enrolled below, before any suspension
    ErrorCode ec;
    const auto endpoint = socket.remote_endpoint(ec);
    const std::string remote = ec ? "unknown" : net::formatEndpoint(endpoint);
    const Visitor visitor = describeVisitor(endpoint.address(), context_.config.trustedProxies);
    socket.set_option(tcp::no_delay(true), ec);
    net::TimedStream stream(std::move(socket));
    // Bounded: no parser state can make it grow further (request_framing.hpp).
    beast::flat_buffer buffer(kMaxRequestHead);
    buffer.reserve(8 * 1024);  // a request head in one read, not in 512-byte pieces
    net::HeadArena arena;      // declared before the parser: it outlives the fields inside
    std::optional<net::RequestParser<http::empty_body>> parsed;
    RequestRecord record;  // reused: its strings keep their capacity from one request to the next
    Visit visit{stream};
    const Enrolment enrolment(*this, visit);
    for (;;) {
        auto& parser = arena.emplace(parsed);
        configureRequestParser(parser);
        stream.expires_after(std::chrono::seconds(60));  // idle keep-alive and slow headers
        const ErrorCode readError = co_await readRequestHead(stream, buffer, parser);
        if (visit.dropped) {
            // Closed idle by the drain: a head read meanwhile goes unanswered. Nothing was
            // forwarded, and a client retries a request its reused connection closed on.
            break;
        }
        if (readError) {
            if (readError == http::error::header_limit) {
                co_await writeAnswer(stream, Answer::HeadersTooLarge, false);
            } else if (readError != http::error::end_of_stream &&
                       readError != beast::error::timeout &&
                       readError != asio::error::connection_reset) {
                co_await writeAnswer(stream, Answer::BadRequest, false);
            }
            break;
        }
        const auto framing =
            checkRequestFraming(parser.get(), parser.get().version(), parser.chunked());
        if (framing.status != 0) {
            co_await writeAnswer(
                stream, framing.status == 501 ? Answer::NotImplemented : Answer::BadRequest, false);
            break;
        }
        if (framing.close) {
            parser.get().keep_alive(false);
        }
        applyForwardingPolicy(parser.get(), visitor);
        begin(record, parser.get());
        HttpExchange exchange{stream, buffer, parser, remote, visitor, record, &draining_};
        std::string slug;
        std::shared_ptr<Tunnel> tunnel;
        visit.busy = true;
        changed();
        const bool reusable = co_await route(exchange, slug, tunnel);
        visit.busy = false;
        visit.used = true;
        changed();
        if (record.id.empty()) {
            // Not forwarded (a fallback, an early refusal): the id is chosen here. A tunnel
            // that read the body may have moved the fields on: then they read empty.
            chooseRequestId(parser.get()["X-Request-Id"], visitor, context_.requestIds, record.id);
        }
        end(record, slug, tunnel.get(), visitor);
        if (!reusable || draining_) {
            break;
        }
    }
    // Lingering close: after an early answer (413) the visitor may still be uploading;
    // closing with unread bytes would send a reset that can destroy the answer in flight.
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::array<char, 16 * 1024> sink{};
    std::size_t drained = 0;
    stream.expires_after(std::chrono::seconds(2));
    while (drained < 16U * 1024U * 1024U) {
        auto [drainError, n] = co_await stream.async_read_some(asio::buffer(sink),
                                                               asio::as_tuple(asio::use_awaitable));
        if (drainError) {
            break;
        }
        drained += n;
    }
}

asio::awaitable<bool> HttpFront::route(HttpExchange& exchange, std::string& slug,
                                       std::shared_ptr<Tunnel>& tunnel) {
    const auto& request = exchange.parser.get();
    const bool head = request.method() == http::verb::head;
    const bool keepAlive = exchange.keepAliveWithoutBody();
    if (request.count(http::field::host) != 1 || !request.target().starts_with('/')) {
        co_return co_await answer(exchange, Answer::BadRequest, false);
    }
    if (directoryApi_.handles(request)) {
        co_return co_await directoryApi_.serve(exchange);
    }
    auto named = slugFromHost(request[http::field::host], context_.config.domain);
    if (!named || *named == context_.config.mainSlug) {
        const Reply redirect{.status = 302,
                             .location = context_.config.mainRedirect,
                             .keepAlive = keepAlive,
                             .headOnly = head};
        co_await reply(exchange, redirect);
        co_return keepAlive;
    }
    slug = std::move(*named);
    tunnel = context_.registry.find(slug);
    if (tunnel) {
        co_return co_await serveThrough(exchange, *tunnel);
    }
    co_return co_await awaitAgent(exchange, slug, tunnel);
}

asio::awaitable<bool> HttpFront::serveThrough(HttpExchange& exchange, Tunnel& tunnel) {
    auto& counters = tunnel.counters();
    ++counters.activeStreams;
    const bool reusable = co_await tunnel.serve(exchange);
    --counters.activeStreams;
    co_return reusable;
}

asio::awaitable<bool> HttpFront::awaitAgent(HttpExchange& exchange, const std::string& slug,
                                            std::shared_ptr<Tunnel>& tunnel) {
    auto lookup = [slug](directory::Directory& d) { return d.fallbackUrl(slug); };
    auto url = co_await context_.directory.run(std::move(lookup), std::chrono::seconds(3));
    // Only for a slug whose agent may be on its way back: listed in the directory, and the
    // relay just started or the slug's tunnel just left (only the latter when the directory
    // cannot say). The visitor's own deadline bounds the wait too.
    const auto& registry = context_.registry;
    const bool mayReturn =
        url ? url->has_value() && (registry.startedRecently() || registry.leftRecently(slug))
            : registry.leftRecently(slug);
    const auto wait = std::min(context_.config.agentWait, context_.config.responseTimeout);
    if (mayReturn && wait.count() > 0) {
        if (!draining_) {
            tunnel = co_await context_.registry.waits().wait(context_.executor, slug, wait);
        }
        if (tunnel) {
            co_return co_await serveThrough(exchange, *tunnel);
        }
        if (draining_) {
            // This relay will not see the agent again, the next one will: unanswered, the
            // request is retried there (as after any keep-alive close).
            co_return false;
        }
    }
    co_return co_await fallback(exchange, slug, url);
}

void HttpFront::begin(RequestRecord& record, const http::request_header<net::Fields>& request) {
    record.started = RequestRecord::Clock::now();
    record.firstByte = {};
    record.status = 0;
    record.bytesIn = 0;
    record.bytesOut = 0;
    if (request.method() != http::verb::unknown) {
        record.method = http::to_string(request.method());
    } else {
        record.otherMethod.assign(request.method_string());
        record.method = record.otherMethod;
    }
    const auto target = request.target();
    // Never the query string (tokens travel there), and never more than a log line can hold.
    record.path.assign(target.substr(0, std::min(target.find('?'), kMaxRecordedPath)));
    record.id.clear();  // chosen while the fields are copied for the agent, or after
}

void HttpFront::end(const RequestRecord& record, std::string_view slug, Tunnel* tunnel,
                    const Visitor& visitor) {
    const auto duration = RequestRecord::Clock::now() - record.started;
    if (tunnel != nullptr) {
        auto& counters = tunnel->counters();
        ++counters.byClass[std::min<unsigned>(record.status / 100, 5)];
        counters.bytesIn += record.bytesIn;
        counters.bytesOut += record.bytesOut;
    }
    const RequestServed served{tunnel != nullptr ? &tunnel->info() : nullptr, slug, record,
                               visitor.address, duration};
    context_.events.requestServed(served);
}

asio::awaitable<bool> HttpFront::fallback(HttpExchange& exchange, const std::string& slug,
                                          const Result<std::optional<std::string>>& url) {
    const auto& request = exchange.parser.get();
    const bool head = request.method() == http::verb::head;
    const bool keepAlive = exchange.keepAliveWithoutBody() && !draining_;
    Reply fallback{.status = answerStatus(Answer::NotFound),
                   .body = answerText(Answer::NotFound),
                   .keepAlive = keepAlive,
                   .headOnly = head};
    if (url && *url) {
        std::string target = **url;
        if (!net::isSafeFieldValue(target)) {
            // A URL that cannot be a header value is not followed.
        } else if (pointsIntoDomain(target, context_.config.domain)) {
            // The directory URL of a relay-hosted instance is the relay itself: redirecting
            // there while its tunnel is down would loop forever.
            fallback = Reply{.status = 503,
                             .body = offlinePage(slug),
                             .contentType = "text/html; charset=utf-8",
                             .keepAlive = keepAlive,
                             .headOnly = head};
        } else {
            while (!target.empty() && target.back() == '/') {
                target.pop_back();
            }
            fallback = Reply{.status = 302,
                             .location = target + std::string(request.target()),
                             .keepAlive = keepAlive,
                             .headOnly = head};
        }
    }
    co_await reply(exchange, fallback);
    co_return keepAlive;
}

void HttpFront::drain() {
    draining_ = true;
    for (Visit* visit : visits_) {
        if (!visit->busy && visit->used) {
            visit->dropped = true;
            visit->stream.close();
        }
    }
    context_.registry.waits().cancelAll();
}

void HttpFront::closeIdle() {
    for (Visit* visit : visits_) {
        if (!visit->busy) {
            visit->dropped = true;
            visit->stream.close();
        }
    }
}

asio::awaitable<std::size_t> HttpFront::quiet(Quiet what,
                                              std::chrono::steady_clock::time_point deadline) {
    const auto count = [this, what] {
        const auto matching = static_cast<std::size_t>(
            std::count_if(visits_.begin(), visits_.end(), [what](const Visit* visit) {
                return what == Quiet::NoBusy ? visit->busy : !visit->busy && !visit->used;
            }));
        // Unused too: a connection accepted and not started yet, or one the accept loop may
        // still hand over (it ends once it has seen its acceptor closed).
        return what == Quiet::NoBusy ? matching : matching + starting_ + (accepting_ ? 1 : 0);
    };
    // No co_await inside a condition: GCC 12 awaits the right operand of && even when the
    // left one is false.
    std::size_t left = count();
    while (left > 0) {
        const bool woken = co_await changed_.wait(deadline);
        left = count();
        if (!woken) {
            break;
        }
    }
    co_return left;
}

}  // namespace nexus::server

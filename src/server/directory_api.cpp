// SPDX-License-Identifier: AGPL-3.0-or-later
// DirectoryApi: routing, bodies, and the calls on the directory worker.
#include "server/directory_api.hpp"

#include "server/host_route.hpp"
#include "server/http_reply.hpp"
#include "server/request_reader.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/string_body.hpp>

#include <fmt/format.h>

namespace nexus::server {

namespace asio = boost::asio;

namespace {

constexpr std::string_view kPrefix = "/api/directory";
constexpr auto kCallTimeout = std::chrono::seconds(5);

ApiReply unavailableReply() {
    ApiReply reply = apiError(503, "Directory unavailable, try again later");
    reply.retryAfter = std::chrono::seconds(30);
    return reply;
}

ApiReply tooManyFailures() {
    ApiReply reply = apiError(429, "Too many failed attempts from this address");
    reply.retryAfter = std::chrono::seconds(60);
    return reply;
}

std::string_view pathOf(std::string_view target) {
    return target.substr(0, target.find('?'));
}

}  // namespace

bool DirectoryApi::handles(const http::request_header<net::Fields>& request) const {
    const auto path = pathOf(request.target());
    return context_.config.directoryApi && path.starts_with(kPrefix) &&
           (path.size() == kPrefix.size() || path[kPrefix.size()] == '/') &&
           isApexHost(request[http::field::host], context_.config.domain);
}

asio::awaitable<bool> DirectoryApi::serve(HttpExchange& exchange) {
    const auto& request = exchange.parser.get();
    const auto method = request.method();
    const std::string path(pathOf(request.target()).substr(kPrefix.size()));
    ErrorCode notAnAddress;
    const auto peer = asio::ip::make_address(exchange.visitor.address, notAnAddress);
    const Address caller = clientAddress(request, peer, context_.config.trustedProxies);
    bool keepAlive = exchange.keepAliveWithoutBody() && exchange.relayKeepsAlive();
    const bool head = method == http::verb::head;

    ApiReply result = apiError(404, "Not found");
    std::string listed;
    const bool named = path.size() > 1 && path.find('/', 1) == std::string::npos;
    const bool posting = path == "/register" || path == "/ping";
    if (path.empty() || path == "/") {
        if (method != http::verb::get && !head) {
            result = apiError(405, "Method not allowed");
        } else if (auto json = co_await listing()) {
            listed = std::move(*json);
        } else {
            result = unavailableReply();
        }
    } else if ((posting && method != http::verb::post) ||
               (named && !posting && method != http::verb::delete_)) {
        result = apiError(405, "Method not allowed");
    } else if (named) {
        std::string body;
        if (auto refused = co_await readBody(exchange, body, keepAlive)) {
            result = std::move(*refused);
        } else if (path == "/register") {
            result = co_await registerInstance(std::move(body), caller);
        } else if (path == "/ping") {
            result = co_await ping(std::move(body), caller);
        } else {
            result = co_await unregister(path.substr(1), std::move(body), caller);
        }
    }
    const Reply out{.status = listed.empty() ? result.status : 200,
                    .body = listed.empty() ? result.body.dump() : std::move(listed),
                    .contentType = "application/json; charset=utf-8",
                    .retryAfter = static_cast<unsigned>(result.retryAfter.count()),
                    .keepAlive = keepAlive,
                    .headOnly = head};
    const bool written = co_await reply(exchange, out);
    co_return written&& keepAlive;
}

asio::awaitable<std::optional<ApiReply>> DirectoryApi::readBody(HttpExchange& exchange,
                                                                std::string& body,
                                                                bool& keepAlive) {
    const auto length = exchange.parser.content_length();
    if (length && *length > kMaxApiBody) {
        keepAlive = false;  // the body stays unread
        co_return apiError(413, "Request body too large");
    }
    if (exchange.expectsContinue() && !co_await writeContinue(exchange.stream)) {
        keepAlive = false;
        co_return apiError(400, "Invalid JSON body");
    }
    net::RequestParser<http::string_body> parser{std::move(exchange.parser)};
    parser.body_limit(kMaxApiBody);
    exchange.stream.expires_after(std::chrono::seconds(30));
    const ErrorCode ec = co_await readRequestBody(exchange.stream, exchange.buffer, parser);
    if (ec) {
        keepAlive = false;
        co_return ec == http::error::body_limit ? apiError(413, "Request body too large")
                                                : apiError(400, "Invalid JSON body");
    }
    exchange.record.bytesIn += parser.get().body().size();
    keepAlive = parser.get().keep_alive() && exchange.relayKeepsAlive();
    body = std::move(parser.get().body());
    co_return std::nullopt;
}

asio::awaitable<ApiReply> DirectoryApi::registerInstance(std::string body, Address caller) {
    auto parsed = parseRegistration(body, context_.config.mainSlug);
    if (auto* refused = std::get_if<ApiReply>(&parsed)) {
        co_return std::move(*refused);
    }
    auto wanted = std::get<RegistrationRequest>(std::move(parsed));
    // Counted once the request is valid: it is what reaches the directory.
    if (const auto wait = registrations_.take(caller, RegistrationLimiter::Clock::now())) {
        ApiReply limited = apiError(429, "Too many registrations, try again later");
        limited.retryAfter =
            std::max(std::chrono::ceil<std::chrono::seconds>(*wait), std::chrono::seconds(1));
        co_return limited;
    }
    // Counted and inserted in one call: the worker runs one call at a time, so concurrent
    // registrations cannot both pass the cap.
    auto insert =
        [wanted](directory::Directory& d) -> Result<std::optional<directory::NewInstance>> {
        const auto count = d.count();
        if (!count) {
            return count.error();
        }
        if (*count >= kMaxInstances) {
            return std::nullopt;
        }
        auto created = d.registerInstance(wanted.slug, wanted.url, wanted.profile);
        if (!created) {
            return created.error();
        }
        return std::move(*created);
    };
    auto created = co_await context_.directory.run(std::move(insert), kCallTimeout);
    if (!created) {
        if (created.error() == makeError(Errc::SlugExists)) {
            co_return apiError(409, "Slug already taken");
        }
        context_.log.warning(fmt::format("Directory API: cannot register slug \"{}\": {}",
                                         wanted.slug,
                                         context_.directory.describe(created.error())));
        co_return unavailableReply();
    }
    if (!*created) {
        context_.log.warning(fmt::format(
            "Directory API: registration of \"{}\" refused, the directory holds {} instances",
            wanted.slug, kMaxInstances));
        co_return apiError(503, "The directory is full");
    }
    changed(wanted.slug);
    context_.log.info(fmt::format("Directory API: registered slug \"{}\" from {}", wanted.slug,
                                  caller.to_string()));
    co_return registeredReply(**created, wanted.profile.name, context_.config.domain);
}

asio::awaitable<ApiReply> DirectoryApi::ping(std::string body, Address caller) {
    auto parsed = parsePing(body);
    if (auto* refused = std::get_if<ApiReply>(&parsed)) {
        co_return std::move(*refused);
    }
    auto request = std::get<PingRequest>(std::move(parsed));
    // The same failure limits as agents' logins: a ping is a token guess too.
    if (!context_.limiter.allowed(caller, {}, AuthLimiter::Clock::now())) {
        co_return tooManyFailures();
    }
    auto call = [request](directory::Directory& d) {
        return d.ping(request.token, request.heartbeat);
    };
    auto pinged = co_await context_.directory.run(std::move(call), kCallTimeout);
    if (!pinged) {
        if (pinged.error() == makeError(Errc::AuthFailed)) {
            context_.limiter.recordFailure(caller, {}, AuthLimiter::Clock::now());
            co_return apiError(404, "Unknown token");
        }
        co_return unavailableReply();
    }
    listing_.clear();
    co_return ApiReply{200, {{"ok", true}, {"slug", pinged->slug}, {"status", pinged->status}}};
}

asio::awaitable<ApiReply> DirectoryApi::unregister(std::string slug, std::string body,
                                                   Address caller) {
    auto parsed = parseDeletion(body);
    if (auto* refused = std::get_if<ApiReply>(&parsed)) {
        co_return std::move(*refused);
    }
    const auto token = std::get<std::string>(std::move(parsed));
    if (!context_.limiter.allowed(caller, slug, AuthLimiter::Clock::now())) {
        co_return tooManyFailures();
    }
    auto call = [slug, token](directory::Directory& d) { return d.unregister(slug, token); };
    auto removed = co_await context_.directory.run(std::move(call), kCallTimeout);
    if (!removed) {
        if (removed.error() == makeError(Errc::AuthFailed)) {
            context_.limiter.recordFailure(caller, slug, AuthLimiter::Clock::now());
            co_return apiError(403, "Invalid slug or token");
        }
        co_return unavailableReply();
    }
    // Unlike the deployed directory, the live tunnel goes at once: the row is gone.
    if (const auto tunnel = context_.registry.find(slug)) {
        tunnel->close(makeError(Errc::Revoked));
    }
    changed(slug);
    context_.log.info(
        fmt::format("Directory API: deleted slug \"{}\" from {}", slug, caller.to_string()));
    co_return ApiReply{200, {{"ok", true}}};
}

asio::awaitable<std::optional<std::string>> DirectoryApi::listing() {
    const auto now = std::chrono::steady_clock::now();
    if (!listing_.empty() && now - listedAt_ < kListingFor) {
        co_return listing_;
    }
    std::vector<std::string> live;
    for (const auto& tunnel : context_.registry.all()) {
        live.push_back(tunnel->info().slug);
    }
    auto call = [live = std::move(live)](directory::Directory& d) {
        return d.listSeen(kSeenWindow, live, kMaxListed);
    };
    auto listed = co_await context_.directory.run(std::move(call), kCallTimeout);
    if (!listed) {
        co_return std::nullopt;
    }
    listing_ = listingJson(*listed);
    listedAt_ = std::chrono::steady_clock::now();
    co_return listing_;
}

void DirectoryApi::changed(const std::string& slug) {
    listing_.clear();
    context_.askCache.forget(slug);
}

}  // namespace nexus::server

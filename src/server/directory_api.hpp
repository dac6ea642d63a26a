// SPDX-License-Identifier: AGPL-3.0-or-later
// The directory API on the HTTP front, where the deployed directory served it
// (https://DOMAIN/api/directory/...): register, ping, delete, list. Off unless configured.
// Every call runs on the directory worker; bodies are bounded; registrations are limited per
// caller and in total, failed token checks count as agents' failed logins do.
#pragma once

#include "server/directory_api_rules.hpp"
#include "server/registration_limiter.hpp"
#include "server/server_context.hpp"
#include "server/tunnel.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <string>

namespace nexus::server {

class DirectoryApi {
public:
    explicit DirectoryApi(ServerContext& context) : context_(context) {}

    /// Whether the request is for the API: it is on, Host is DOMAIN itself, and the path is
    /// /api/directory or under it. Every other request is routed as before.
    bool handles(const http::request_header<net::Fields>& request) const;

    /// Answers the request (reading its body if it has one); whether the connection may be
    /// reused.
    boost::asio::awaitable<bool> serve(HttpExchange& exchange);

    /// At most this many instances in the directory (any status): registration then says
    /// it is full, so a flood of registrations cannot grow the database without end.
    static constexpr std::int64_t kMaxInstances = 10000;
    /// Listed: seen within this window, or with a live tunnel here.
    static constexpr std::chrono::seconds kSeenWindow{15 * 60};
    static constexpr std::size_t kMaxListed = 1000;
    /// The listing is served from memory this long (a changed instance clears it sooner).
    static constexpr std::chrono::seconds kListingFor{10};

private:
    using Address = boost::asio::ip::address;

    /// The body of a POST or DELETE, or the answer when it is too large or broken; also
    /// says whether the connection may be reused.
    boost::asio::awaitable<std::optional<ApiReply>> readBody(HttpExchange& exchange,
                                                             std::string& body, bool& keepAlive);
    boost::asio::awaitable<ApiReply> registerInstance(std::string body, Address caller);
    boost::asio::awaitable<ApiReply> ping(std::string body, Address caller);
    boost::asio::awaitable<ApiReply> unregister(std::string slug, std::string body, Address caller);
    /// The listing's JSON, from memory or the directory; nullopt when the directory fails.
    boost::asio::awaitable<std::optional<std::string>> listing();
    /// An instance changed: the next listing and Caddy's next ask look again.
    void changed(const std::string& slug);

    ServerContext& context_;
    RegistrationLimiter registrations_;
    std::string listing_;  ///< empty: none in memory
    std::chrono::steady_clock::time_point listedAt_;
};

}  // namespace nexus::server

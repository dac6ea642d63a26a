// SPDX-License-Identifier: AGPL-3.0-or-later
// setup's HTTPS through libcurl: certificate verification always on (the system's CAs, or
// --ca-file), a deadline on every exchange, and responses capped before they are stored.
#pragma once

#include <chrono>
#include <string>

namespace nexus::ctl {

struct HttpsOptions {
    std::string caFile;  ///< a private CA bundle; empty: the system's
};

struct HttpsResult {
    long status = 0;    ///< 0 when no HTTP answer came
    std::string body;   ///< at most kMaxBody bytes
    std::string error;  ///< libcurl's reason when the exchange failed
};

class HttpsClient {
public:
    static constexpr std::size_t kMaxBody = 64 * 1024;

    explicit HttpsClient(HttpsOptions options);
    ~HttpsClient();
    HttpsClient(const HttpsClient&) = delete;
    HttpsClient& operator=(const HttpsClient&) = delete;

    /// A request with a JSON body: `method` POST or DELETE.
    HttpsResult sendJson(const char* method, const std::string& url, const std::string& json,
                         std::chrono::seconds timeout);
    HttpsResult get(const std::string& url, std::chrono::seconds timeout);
    /// A TCP connection and a verified TLS handshake with HOST:PORT, nothing sent: the
    /// error is empty when it worked.
    std::string tlsHandshake(const std::string& host, unsigned port, std::chrono::seconds timeout);
    /// A WebSocket opening handshake on `url` (https://...): status 101 when the door opened.
    HttpsResult websocketHandshake(const std::string& url, std::chrono::seconds timeout);

private:
    HttpsOptions options_;
};

}  // namespace nexus::ctl

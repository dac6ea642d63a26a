// SPDX-License-Identifier: AGPL-3.0-or-later
#include "ctl/https_client.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <memory>
#include <mutex>

namespace nexus::ctl {

namespace {
struct EasyDeleter {
    void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct ListDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using List = std::unique_ptr<curl_slist, ListDeleter>;

struct Sink {
    std::string body;
    bool tooLarge = false;
    bool upgraded = false;  ///< a WebSocket handshake saw "HTTP/1.1 101"
};

std::size_t collect(char* data, std::size_t size, std::size_t count, void* user) {
    auto& sink = *static_cast<Sink*>(user);
    const auto bytes = size * count;
    if (sink.body.size() + bytes > HttpsClient::kMaxBody) {
        sink.tooLarge = true;
        return 0;  // libcurl stops the transfer with CURLE_WRITE_ERROR
    }
    sink.body.append(data, bytes);
    return bytes;
}

// The 101's headers end the exchange: libcurl without WebSocket support would treat the 101
// as informational and wait for another response until the deadline.
std::size_t upgradeHeader(char* data, std::size_t size, std::size_t count, void* user) {
    auto& sink = *static_cast<Sink*>(user);
    const std::string_view line(data, size * count);
    if (line.starts_with("HTTP/1.1 101")) {
        sink.upgraded = true;
    }
    if (sink.upgraded && (line == "\r\n" || line == "\n")) {
        return 0;
    }
    return size * count;
}

void initOnce() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpsResult perform(CURL* easy, Sink& sink) {
    HttpsResult result;
    char message[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, message);
    const auto code = curl_easy_perform(easy);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &result.status);
    if (sink.upgraded) {
        result.status = 101;
    } else if (sink.tooLarge) {
        result.error = fmt::format("response larger than {} KiB", HttpsClient::kMaxBody / 1024);
    } else if (code != CURLE_OK) {
        result.error = message[0] != '\0' ? message : curl_easy_strerror(code);
    }
    result.body = std::move(sink.body);
    return result;
}
}  // namespace

HttpsClient::HttpsClient(HttpsOptions options) : options_(std::move(options)) {
    initOnce();
}

HttpsClient::~HttpsClient() = default;

namespace {
Easy prepare(const HttpsOptions& options, const std::string& url, std::chrono::seconds timeout) {
    Easy easy(curl_easy_init());
    auto* e = easy.get();
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count() * 1000));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count() * 1000));
    curl_easy_setopt(e, CURLOPT_USERAGENT, "nexusctl-setup");
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(HttpsClient::kMaxBody));
    if (!options.caFile.empty()) {
        curl_easy_setopt(e, CURLOPT_CAINFO, options.caFile.c_str());
    }
    return easy;
}
}  // namespace

HttpsResult HttpsClient::sendJson(const char* method, const std::string& url,
                                  const std::string& json, std::chrono::seconds timeout) {
    auto easy = prepare(options_, url, timeout);
    List headers(curl_slist_append(nullptr, "Content-Type: application/json"));
    headers.reset(curl_slist_append(headers.release(), "Accept: application/json"));
    curl_easy_setopt(easy.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(easy.get(), CURLOPT_POSTFIELDS, json.c_str());
    curl_easy_setopt(easy.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(json.size()));
    curl_easy_setopt(easy.get(), CURLOPT_CUSTOMREQUEST, method);
    Sink sink;
    curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, &sink);
    return perform(easy.get(), sink);
}

HttpsResult HttpsClient::get(const std::string& url, std::chrono::seconds timeout) {
    auto easy = prepare(options_, url, timeout);
    Sink sink;
    curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, &sink);
    return perform(easy.get(), sink);
}

std::string HttpsClient::tlsHandshake(const std::string& host, unsigned port,
                                      std::chrono::seconds timeout) {
    const auto url = fmt::format(
        "https://{}:{}/", host.find(':') != std::string::npos ? "[" + host + "]" : host, port);
    auto easy = prepare(options_, url, timeout);
    // CONNECT_ONLY on an https:// URL: connect and verify the TLS handshake, send nothing.
    curl_easy_setopt(easy.get(), CURLOPT_CONNECT_ONLY, 1L);
    Sink sink;
    return perform(easy.get(), sink).error;
}

HttpsResult HttpsClient::websocketHandshake(const std::string& url, std::chrono::seconds timeout) {
    auto easy = prepare(options_, url, timeout);
    List headers(curl_slist_append(nullptr, "Connection: Upgrade"));
    for (const auto* header : {"Upgrade: websocket", "Sec-WebSocket-Version: 13",
                               "Sec-WebSocket-Key: bmV4dXNjdGwgc2V0dXAgIQ=="}) {
        headers.reset(curl_slist_append(headers.release(), header));
    }
    curl_easy_setopt(easy.get(), CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(easy.get(), CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    Sink sink;
    curl_easy_setopt(easy.get(), CURLOPT_HEADERFUNCTION, upgradeHeader);
    curl_easy_setopt(easy.get(), CURLOPT_HEADERDATA, &sink);
    curl_easy_setopt(easy.get(), CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(easy.get(), CURLOPT_WRITEDATA, &sink);
    return perform(easy.get(), sink);
}

}  // namespace nexus::ctl

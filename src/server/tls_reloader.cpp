// SPDX-License-Identifier: AGPL-3.0-or-later
// TlsReloader. The control listener takes a copy of context.tls for each handshake, so
// replacing the pointer changes what new agents see and nothing else.
#include "server/tls_reloader.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>

#include <sys/stat.h>

namespace nexus::server {

namespace asio = boost::asio;

TlsReloader::TlsReloader(ServerContext& context) : context_(context), timer_(context.executor) {}

std::vector<TlsReloader::Stamp> TlsReloader::stamps() const {
    std::vector<Stamp> result;
    for (const auto* path : {&context_.config.tlsCertificate, &context_.config.tlsKey}) {
        Stamp stamp;
        if (struct stat info{}; ::stat(path->c_str(), &info) == 0) {
            stamp = {static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 +
                         info.st_mtim.tv_nsec,
                     static_cast<std::int64_t>(info.st_size),
                     static_cast<std::int64_t>(info.st_ino)};
        }
        result.push_back(stamp);
    }
    return result;
}

std::optional<SetupFailure> TlsReloader::load() {
    loaded_ = stamps();
    std::string failedFile;
    auto tls = net::makeServerTlsContext(context_.config.tlsCertificate, context_.config.tlsKey,
                                         failedFile);
    if (!tls) {
        const bool key = failedFile == context_.config.tlsKey;
        return SetupFailure{fmt::format("load the TLS {} {} ({})", key ? "key" : "certificate",
                                        failedFile, key ? "--tls-key" : "--tls-cert"),
                            tls.error()};
    }
    context_.tls = std::move(*tls);
    return std::nullopt;
}

void TlsReloader::reload(std::string_view why) {
    if (auto failed = load()) {
        context_.log.warning(fmt::format("Keeping the current TLS certificate ({}): cannot {}: {}",
                                         why, failed->what, failed->error.message()));
        return;
    }
    context_.log.info(fmt::format("Reloaded the TLS certificate {} ({}); new connections use it",
                                  context_.config.tlsCertificate, why));
}

asio::awaitable<void> TlsReloader::watch(std::chrono::steady_clock::duration interval) {
    while (!stopped_) {
        timer_.expires_after(interval);
        co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        // A renewal writes the certificate and the key one after the other: a half-written
        // pair fails to load, is retried when the second file changes, and meanwhile the
        // current certificate stays in use.
        if (!stopped_ && stamps() != loaded_) {
            reload("changed on disk");
        }
    }
}

void TlsReloader::stop() {
    stopped_ = true;
    timer_.cancel();
}

}  // namespace nexus::server

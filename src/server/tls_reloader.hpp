// SPDX-License-Identifier: AGPL-3.0-or-later
// The control port's certificate, reloaded when certbot or Caddy renews it: new handshakes
// use the new files, established tunnels keep the session they have.
#pragma once

#include "server/server_context.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nexus::server {

/// Something the relay could not set up at start: what it tried ("load the TLS certificate
/// FILE (--tls-cert)", "listen on 127.0.0.1:7001 for the HTTP front (--http-port)") and why.
struct SetupFailure {
    std::string what;
    ErrorCode error;
};

class TlsReloader {
public:
    explicit TlsReloader(ServerContext& context);

    /// Loads --tls-cert and --tls-key into the context.
    std::optional<SetupFailure> load();

    /// Loads them again now (SIGHUP); on failure warns and keeps serving the current ones.
    void reload(std::string_view why);

    /// Reloads whenever either file changes on disk (checked every `interval`), until stop().
    boost::asio::awaitable<void> watch(std::chrono::steady_clock::duration interval);
    void stop();

private:
    /// What identifies a file's content cheaply: renewals replace the file or its symlink.
    struct Stamp {
        std::int64_t modified = 0, size = -1, inode = -1;
        bool operator==(const Stamp&) const = default;
    };
    std::vector<Stamp> stamps() const;

    ServerContext& context_;
    boost::asio::steady_timer timer_;
    std::vector<Stamp> loaded_;  ///< the files as they were at the last attempt
    bool stopped_ = false;
};

}  // namespace nexus::server

// SPDX-License-Identifier: AGPL-3.0-or-later
// What the relay's parts share: configuration, the registry, the directory, limits, the log,
// and where events go.
#pragma once

#include "common/log.hpp"
#include "net/tls.hpp"
#include "server/ask_cache.hpp"
#include "server/auth_limiter.hpp"
#include "server/directory_worker.hpp"
#include "server/relay_events.hpp"
#include "server/request_id.hpp"
#include "server/server_config.hpp"
#include "server/tunnel_registry.hpp"

namespace nexus::server {

struct ServerContext {
    boost::asio::any_io_executor executor;
    ServerConfig config;
    Logger& log;
    DirectoryWorker& directory;
    RelayObserver& events;
    TunnelRegistry registry;
    AuthLimiter limiter;
    std::uint64_t nextSessionId = 1;
    std::shared_ptr<net::ssl::context> tls;  ///< null: no TLS door
    RequestIds requestIds;
    AskCache askCache;  ///< Caddy's ask endpoint; the directory API forgets what it changes
};

}  // namespace nexus::server

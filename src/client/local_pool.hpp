// SPDX-License-Identifier: AGPL-3.0-or-later
// Keep-alive connections to the configured local address, shared by the v1 and v2 paths.
// The pool never connects anywhere else than AgentConfig::localHost:localPort.
#pragma once

#include "client/agent_config.hpp"
#include "common/error.hpp"
#include "net/timed_stream.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace nexus::client {

/// A connection to the local app, marked with the local address it was opened to.
struct LocalStream : net::TimedStream {
    using net::TimedStream::TimedStream;
    std::uint64_t addressGeneration = 0;
};

class LocalPool {
public:
    using Stream = LocalStream;

    LocalPool(boost::asio::any_io_executor executor, const AgentConfig& config);

    /// An idle pooled connection that has nothing to read (reused = true), else a new one
    /// (5 s connect timeout). Every idle connection is checked before it is handed out, however
    /// short its rest: one with bytes pending holds a response to no request of ours (the app
    /// wrote one unasked, or more than it announced), which would be taken for the answer to
    /// the next request, another visitor's; one with an EOF pending was closed by the app.
    /// Either is closed and dropped.
    boost::asio::awaitable<Result<std::unique_ptr<Stream>>> checkout(bool& reused);

    /// Keeps a connection whose last exchange ended cleanly, up to maxIdleLocalConnections.
    /// The caller keeps out a connection with bytes read past the end of its response.
    void checkin(std::unique_ptr<Stream> stream);

    std::size_t idleCount() const { return idle_.size(); }

    /// The local address changed (a reload): idle connections are closed now, and the ones in
    /// use are not pooled again when their exchange ends, so every later request goes to the
    /// new address.
    void localAddressChanged();

    /// False when a connection has bytes, an EOF or an error pending: an idle HTTP/1.1
    /// connection has nothing to read.
    static bool hasNothingPending(Stream& stream);

private:
    boost::asio::any_io_executor executor_;
    const AgentConfig& config_;
    std::uint64_t addressGeneration_ = 0;
    std::vector<std::unique_ptr<Stream>> idle_;
};

}  // namespace nexus::client

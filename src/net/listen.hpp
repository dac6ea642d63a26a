// SPDX-License-Identifier: AGPL-3.0-or-later
// Binding a listening socket: what the daemons do for each listener that systemd did not
// hand them already.
#pragma once

#include "common/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <string>

namespace nexus::net {

/// Binds a listening acceptor on "host" (brackets allowed for IPv6; [::] also serves IPv4)
/// and port.
Result<boost::asio::ip::tcp::acceptor> bindAcceptor(boost::asio::any_io_executor executor,
                                                    const std::string& host, std::uint16_t port);

}  // namespace nexus::net

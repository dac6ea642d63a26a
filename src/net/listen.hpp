// SPDX-License-Identifier: AGPL-3.0-or-later
// Listening sockets, bound by the daemon layer (or handed over by systemd) and given to the
// services that accept on them.
#pragma once

#include "common/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <string>

namespace nexus::net {

/// Binds a listening acceptor on "host" (an address literal, brackets allowed for IPv6) and
/// port; InvalidArgument when host is not an address. [::] serves IPv4 callers too.
Result<boost::asio::ip::tcp::acceptor> bindAcceptor(boost::asio::any_io_executor executor,
                                                    const std::string& host, std::uint16_t port);

}  // namespace nexus::net

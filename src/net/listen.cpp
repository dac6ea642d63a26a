// SPDX-License-Identifier: AGPL-3.0-or-later
// bindAcceptor: a listening socket on an address literal and a port.
#include "net/listen.hpp"

#include <boost/asio/ip/v6_only.hpp>

namespace nexus::net {

namespace asio = boost::asio;
using asio::ip::tcp;

Result<tcp::acceptor> bindAcceptor(asio::any_io_executor executor, const std::string& host,
                                   std::uint16_t port) {
    std::string bare = host;
    if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']') {
        bare = bare.substr(1, bare.size() - 2);
    }
    ErrorCode ec;
    const auto address = asio::ip::make_address(bare, ec);
    if (ec) {
        return makeError(Errc::InvalidArgument);
    }
    tcp::acceptor acceptor(executor);
    const tcp::endpoint endpoint(address, port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) {
        acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec && address.is_v6() && address.to_v6().is_unspecified()) {
        acceptor.set_option(asio::ip::v6_only(false), ec);  // [::] serves IPv4 callers too
    }
    if (!ec) {
        acceptor.bind(endpoint, ec);
    }
    if (!ec) {
        acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        return ec;
    }
    return acceptor;
}

}  // namespace nexus::net

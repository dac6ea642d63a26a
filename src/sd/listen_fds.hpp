// SPDX-License-Identifier: AGPL-3.0-or-later
// Listening sockets handed over by systemd (socket activation), by name. Each socket unit
// names its descriptor with FileDescriptorName=; the daemon says which names it expects and
// gets one acceptor per name, or binds its listeners itself when systemd passed nothing.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nexus::sd {

struct PassedListeners {
    /// Empty when the process was not socket-activated: the daemon binds its own listeners.
    std::map<std::string, boost::asio::ip::tcp::acceptor, std::less<>> acceptors;
    /// Why the sockets systemd passed cannot be used, in one line; empty when they can.
    std::string error;

    bool activated() const { return !acceptors.empty(); }
    /// Takes the acceptor named `name` out of the map, if systemd passed one.
    std::optional<boost::asio::ip::tcp::acceptor> take(std::string_view name);
};

/// What is wrong with the descriptor names systemd passed (in order) given the names the
/// configuration expects: a name passed twice, a name not expected, an expected name missing.
/// Empty when they match exactly.
std::string checkListenerNames(std::span<const std::string> passed,
                               std::span<const std::string_view> expected);

/// Adopts the descriptors systemd passed (LISTEN_FDS, LISTEN_FDNAMES; the variables are unset
/// afterwards) as acceptors on `executor`, after checking each is a listening TCP socket and
/// that their names are exactly `expected`. On any error every passed descriptor is closed.
PassedListeners takePassedListeners(const boost::asio::any_io_executor& executor,
                                    std::span<const std::string_view> expected);

}  // namespace nexus::sd

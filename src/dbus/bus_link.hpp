// SPDX-License-Identifier: AGPL-3.0-or-later
// A daemon's connection to the bus, kept: opened off the event loop (opening waits for the
// bus's handshake, which a stalled dbus-daemon would hold for up to 90 s), then served on the
// loop through its descriptor, a bounded batch of messages per turn so the network never
// waits on the bus, and opened again a few seconds after the bus goes away.
#pragma once

#include "common/log.hpp"
#include "dbus/bus_kind.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace sdbus {
class IConnection;
}

namespace nexus::dbus {

class BusLink {
public:
    /// Puts the objects on a new connection, on the loop, before the name is requested (a
    /// client that sees the name appear finds them). May throw sdbus::Error.
    using Attach = std::function<void(sdbus::IConnection&)>;
    /// Takes them off again, before the connection closes (they refer to it).
    using Detach = std::function<void()>;

    BusLink(boost::asio::any_io_executor executor, BusKind kind, std::string name, Logger& log,
            Attach attach, Detach detach);
    ~BusLink();
    BusLink(const BusLink&) = delete;
    BusLink& operator=(const BusLink&) = delete;

    void start();
    /// Detaches the objects and closes the connection; a connection still opening is left
    /// to close on its own thread.
    void stop();

    /// After sending on the connection outside its processing (a signal): output the socket
    /// did not take at once waits for it to be writable.
    void wake();

    /// Longest wait between two attempts to open the bus.
    static constexpr std::chrono::seconds kRetryCap{5};
    /// Messages handled per turn of the loop before the network gets its turn.
    static constexpr int kBatch = 32;

private:
    struct Session;
    struct Opening;

    void open();
    void opened(std::unique_ptr<sdbus::IConnection> connection);
    void requestName();
    void nameReply(const std::string& failure, unsigned reply);
    /// The connection failed or was refused something: close it, try again later.
    void lost(const std::string& what);
    void close();
    void retryLater();
    boost::asio::awaitable<void> serve(std::shared_ptr<Session> session);

    boost::asio::any_io_executor executor_;
    BusKind kind_;
    std::string name_;
    Logger& log_;
    Attach attach_;
    Detach detach_;
    std::shared_ptr<Session> session_;
    std::shared_ptr<Opening> opening_;
    boost::asio::steady_timer retry_;
    std::chrono::seconds delay_{1};
    bool stopped_ = true;
    bool failing_ = false;  ///< a failure was logged: say so when the bus is back
};

}  // namespace nexus::dbus

// SPDX-License-Identifier: AGPL-3.0-or-later
// BusLink: open on a thread, serve on the loop, reopen after a delay.
#include "dbus/bus_link.hpp"

#include "common/error.hpp"
#include "net/spawn.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>
#include <poll.h>
#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>
#include <mutex>
#include <thread>

namespace nexus::dbus {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

/// One open connection and what waits on its descriptor. The serving coroutine shares it, so
/// a coroutine outliving its BusLink finds `closed` set and touches nothing else.
struct BusLink::Session {
    explicit Session(const asio::any_io_executor& executor)
        : descriptor(executor), timer(executor) {}

    std::unique_ptr<sdbus::IConnection> connection;
    std::unique_ptr<sdbus::IProxy> busDriver;  ///< org.freedesktop.DBus, for RequestName
    asio::posix::stream_descriptor descriptor;
    asio::steady_timer timer;
    bool closed = false;
};

/// A connection being opened on its own thread; `abandoned` (under the mutex) tells the
/// thread its BusLink is gone, so it closes what it opened instead of handing it over.
struct BusLink::Opening {
    std::mutex mutex;
    bool abandoned = false;
};

namespace {
// RequestName's flag and answers (the D-Bus specification's values).
constexpr std::uint32_t kDoNotQueue = 4;
constexpr unsigned kPrimaryOwner = 1;
constexpr unsigned kAlreadyOwner = 4;

std::unique_ptr<sdbus::IConnection> openBus(BusKind kind) {
    return kind == BusKind::System ? sdbus::createSystemBusConnection()
                                   : sdbus::createSessionBusConnection();
}
}  // namespace

BusLink::BusLink(asio::any_io_executor executor, BusKind kind, std::string name, Logger& log,
                 Attach attach, Detach detach)
    : executor_(std::move(executor)),
      kind_(kind),
      name_(std::move(name)),
      log_(log),
      attach_(std::move(attach)),
      detach_(std::move(detach)),
      retry_(executor_) {}

BusLink::~BusLink() {
    stop();
}

void BusLink::start() {
    stopped_ = false;
    open();
}

void BusLink::stop() {
    stopped_ = true;
    retry_.cancel();
    if (opening_) {
        std::lock_guard lock(opening_->mutex);
        opening_->abandoned = true;
    }
    opening_.reset();
    close();
}

void BusLink::wake() {
    if (session_) {
        session_->timer.cancel();
    }
}

void BusLink::open() {
    auto opening = std::make_shared<Opening>();
    opening_ = opening;
    std::thread([this, opening, kind = kind_, executor = executor_] {
        std::unique_ptr<sdbus::IConnection> connection;
        std::string failure;
        try {
            connection = openBus(kind);
        } catch (const sdbus::Error& e) {
            failure = e.getMessage();
        }
        std::lock_guard lock(opening->mutex);
        if (opening->abandoned) {
            return;  // the connection closes here, on this thread
        }
        asio::post(executor, [this, opening, connection = std::move(connection),
                              failure = std::move(failure)]() mutable {
            if (opening->abandoned) {
                return;
            }
            opening_.reset();
            if (connection) {
                opened(std::move(connection));
            } else {
                lost(fmt::format("Cannot connect to the D-Bus {}: {}", describe(kind_), failure));
            }
        });
    }).detach();
}

void BusLink::opened(std::unique_ptr<sdbus::IConnection> connection) {
    session_ = std::make_shared<Session>(executor_);
    session_->connection = std::move(connection);
    try {
        attach_(*session_->connection);
        session_->descriptor.assign(session_->connection->getEventLoopPollData().fd);
        requestName();
    } catch (const sdbus::Error& e) {
        lost(fmt::format("Cannot publish {} on the D-Bus {}: {}", name_, describe(kind_),
                         e.getMessage()));
        return;
    }
    asio::co_spawn(executor_, serve(session_), net::reportFailures("the D-Bus connection"));
}

void BusLink::requestName() {
    auto& session = *session_;
    session.busDriver =
        sdbus::createProxy(*session.connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
    std::weak_ptr<Session> weak = session_;
    // The reply arrives inside the connection's processing: what it decides (possibly closing
    // the connection) runs after, from the loop.
    session.busDriver->callMethodAsync("RequestName")
        .onInterface("org.freedesktop.DBus")
        .withArguments(name_, kDoNotQueue)
        .uponReplyInvoke([this, weak](const sdbus::Error* error, std::uint32_t reply) {
            std::string failure = error ? error->getName() + ": " + error->getMessage() : "";
            asio::post(executor_, [this, weak, failure = std::move(failure), reply] {
                const auto session = weak.lock();
                if (session && !session->closed) {
                    nameReply(failure, reply);
                }
            });
        });
}

void BusLink::nameReply(const std::string& failure, unsigned reply) {
    if (!failure.empty()) {
        lost(
            fmt::format("Cannot own {} on the D-Bus {} ({}); is its policy file installed "
                        "in /usr/share/dbus-1/system.d?",
                        name_, describe(kind_), failure));
        return;
    }
    if (reply != kPrimaryOwner && reply != kAlreadyOwner) {
        lost(fmt::format("Cannot own {} on the D-Bus {}: another process has it", name_,
                         describe(kind_)));
        return;
    }
    log_.info(fmt::format("{} {} on the D-Bus {}", failing_ ? "Back as" : "Published as", name_,
                          describe(kind_)));
    failing_ = false;
    delay_ = std::chrono::seconds(1);
}

void BusLink::lost(const std::string& what) {
    close();
    if (stopped_) {
        return;
    }
    // One line per outage, not one per attempt.
    if (!failing_) {
        log_.warning(fmt::format("{}; retrying every few seconds", what));
        failing_ = true;
    }
    retryLater();
}

void BusLink::close() {
    if (!session_) {
        return;
    }
    const auto session = std::move(session_);
    session->closed = true;
    detach_();  // the objects first: they refer to the connection
    session->busDriver.reset();
    if (session->descriptor.is_open()) {
        session->descriptor.release();  // the connection owns the descriptor; waits end
    }
    session->timer.cancel();
    session->connection.reset();
}

void BusLink::retryLater() {
    retry_.expires_after(delay_);
    delay_ = std::min<std::chrono::seconds>(delay_ * 2, kRetryCap);
    retry_.async_wait([this](const ErrorCode& ec) {
        if (!ec && !stopped_) {
            open();
        }
    });
}

asio::awaitable<void> BusLink::serve(std::shared_ptr<Session> session) {
    const auto token = asio::as_tuple(asio::use_awaitable);
    using Wait = asio::posix::stream_descriptor::wait_type;
    std::string failure;
    try {
        while (!session->closed) {
            auto& connection = *session->connection;
            int handled = 0;
            while (handled < kBatch && connection.processPendingRequest()) {
                ++handled;
            }
            if (session->closed) {
                co_return;
            }
            if (handled == kBatch) {
                co_await asio::post(session->timer.get_executor(), asio::use_awaitable);
                continue;
            }
            const auto poll = connection.getEventLoopPollData();
            const auto timeout = poll.getRelativeTimeout();
            session->timer.expires_after(timeout ? *timeout : std::chrono::hours(1));
            if ((poll.events & POLLOUT) != 0) {
                co_await (session->descriptor.async_wait(Wait::wait_read, token) ||
                          session->descriptor.async_wait(Wait::wait_write, token) ||
                          session->timer.async_wait(token));
            } else {
                co_await (session->descriptor.async_wait(Wait::wait_read, token) ||
                          session->timer.async_wait(token));
            }
        }
    } catch (const sdbus::Error& e) {
        failure = e.getMessage();
    }
    // Closed on purpose: the BusLink may be gone; otherwise the bus went away.
    if (!session->closed) {
        lost(fmt::format("Lost the D-Bus {}: {}", describe(kind_), failure));
    }
}

}  // namespace nexus::dbus

// SPDX-License-Identifier: AGPL-3.0-or-later
// Socket activation by name (listen_fds.hpp).
#include "sd/listen_fds.hpp"

#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace nexus::sd {

namespace {

std::string quotedList(std::span<const std::string_view> names) {
    std::string out;
    for (const auto name : names) {
        out += out.empty() ? "" : ", ";
        out += fmt::format("\"{}\"", name);
    }
    return out.empty() ? "none" : out;
}

// sd_listen_fds_with_names' result, owned: the names, and the descriptors from
// SD_LISTEN_FDS_START on.
struct Passed {
    std::vector<std::string> names;
    std::string error;
};

Passed readPassed() {
    char** names = nullptr;
    const int count = sd_listen_fds_with_names(1, &names);
    Passed passed;
    if (count < 0) {
        passed.error = fmt::format("cannot read the sockets passed by systemd (LISTEN_FDS): {}",
                                   std::strerror(-count));
        return passed;
    }
    for (int i = 0; i < count; ++i) {
        // Without LISTEN_FDNAMES, libsystemd names every descriptor "unknown".
        passed.names.emplace_back(names != nullptr && names[i] != nullptr ? names[i] : "unknown");
    }
    if (names != nullptr) {
        for (int i = 0; i < count; ++i) {
            std::free(names[i]);  // NOLINT(cppcoreguidelines-no-malloc): libsystemd's strv
        }
        std::free(names);  // NOLINT(cppcoreguidelines-no-malloc)
    }
    return passed;
}

void closeAll(std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
        ::close(SD_LISTEN_FDS_START + static_cast<int>(i));
    }
}

}  // namespace

std::optional<boost::asio::ip::tcp::acceptor> PassedListeners::take(std::string_view name) {
    const auto found = acceptors.find(name);
    if (found == acceptors.end()) {
        return std::nullopt;
    }
    auto acceptor = std::move(found->second);
    acceptors.erase(found);
    return acceptor;
}

std::string checkListenerNames(std::span<const std::string> passed,
                               std::span<const std::string_view> expected) {
    for (std::size_t i = 0; i < passed.size(); ++i) {
        const auto& name = passed[i];
        if (std::find(passed.begin(), passed.begin() + static_cast<std::ptrdiff_t>(i), name) !=
            passed.begin() + static_cast<std::ptrdiff_t>(i)) {
            return fmt::format(
                "systemd passed two sockets named \"{}\": give each socket unit its own "
                "FileDescriptorName=",
                name);
        }
        if (std::find(expected.begin(), expected.end(), name) == expected.end()) {
            return fmt::format(
                "systemd passed a socket named \"{}\" that this configuration does not use "
                "(expected: {}): check FileDescriptorName= in the socket units",
                name, quotedList(expected));
        }
    }
    for (const auto name : expected) {
        if (std::find(passed.begin(), passed.end(), name) == passed.end()) {
            return fmt::format(
                "systemd passed no socket named \"{}\" (this configuration needs {}): add a "
                "socket unit with FileDescriptorName={} for this service",
                name, quotedList(expected), name);
        }
    }
    return {};
}

PassedListeners takePassedListeners(const boost::asio::any_io_executor& executor,
                                    std::span<const std::string_view> expected) {
    PassedListeners result;
    auto passed = readPassed();
    if (!passed.error.empty() || passed.names.empty()) {
        result.error = std::move(passed.error);
        return result;
    }
    if (auto problem = checkListenerNames(passed.names, expected); !problem.empty()) {
        closeAll(0, passed.names.size());
        result.error = std::move(problem);
        return result;
    }
    // Checked before any is adopted: a datagram socket, a Unix socket or one not listening
    // would fail only at the first accept, long after systemd reported the service started.
    for (std::size_t i = 0; i < passed.names.size(); ++i) {
        const int fd = SD_LISTEN_FDS_START + static_cast<int>(i);
        if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0) {
            closeAll(0, passed.names.size());
            result.error = fmt::format(
                "systemd socket \"{}\" (fd {}) is not a listening TCP socket: use "
                "ListenStream=ADDRESS:PORT in its socket unit",
                passed.names[i], fd);
            return result;
        }
    }
    for (std::size_t i = 0; i < passed.names.size(); ++i) {
        const int fd = SD_LISTEN_FDS_START + static_cast<int>(i);
        const bool v6 = sd_is_socket_inet(fd, AF_INET6, SOCK_STREAM, 1, 0) > 0;
        boost::asio::ip::tcp::acceptor acceptor(executor);
        boost::system::error_code ec;
        acceptor.assign(v6 ? boost::asio::ip::tcp::v6() : boost::asio::ip::tcp::v4(), fd, ec);
        if (ec) {
            result.acceptors.clear();  // closes the ones adopted so far
            closeAll(i, passed.names.size());
            result.error = fmt::format("cannot use systemd socket \"{}\" (fd {}): {}",
                                       passed.names[i], fd, ec.message());
            return result;
        }
        result.acceptors.emplace(passed.names[i], std::move(acceptor));
    }
    return result;
}

}  // namespace nexus::sd

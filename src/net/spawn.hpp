// SPDX-License-Identifier: AGPL-3.0-or-later
// Detached coroutines whose failures are reported, not lost: `asio::detached` drops the
// exception that ends a coroutine, so a bug (or an allocation failure) in a connection's
// coroutine would end it without a trace. Every coroutine the libraries spawn and never join
// completes into reportFailures("what it was"), which hands an escaping exception, with that
// context, to the handler the daemon installed (it logs it).
#pragma once

#include <exception>
#include <functional>
#include <string_view>

namespace nexus::net {

using FailureHandler = std::function<void(std::string_view what, std::exception_ptr failure)>;

/// Installs the process's handler (the daemon layer's, at start, before the loop runs).
/// Without one, failures are written to stderr.
void setFailureHandler(FailureHandler handler);

/// Hands `failure` to the installed handler; never throws.
void reportFailure(std::string_view what, std::exception_ptr failure) noexcept;

/// The completion token for co_spawn: reports an exception that ended the coroutine.
struct ReportFailures {
    const char* what;  ///< a string literal: the token is copied into every spawn

    template <typename... Result>
    void operator()(std::exception_ptr failure, Result&&...) const {
        if (failure) {
            reportFailure(what, failure);
        }
    }
};

inline ReportFailures reportFailures(const char* what) {
    return ReportFailures{what};
}

/// One line about an exception_ptr: its what() when it is a std::exception.
std::string describeFailure(std::exception_ptr failure);

}  // namespace nexus::net

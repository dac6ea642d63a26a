// SPDX-License-Identifier: AGPL-3.0-or-later
// Runs blocking directory calls on their own thread and hands results back to the event loop
// with a deadline, so a slow or dead database never stalls live tunnels.
#pragma once

#include "directory/directory.hpp"
#include "net/completion.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <string>

namespace nexus::server {

class DirectoryWorker {
public:
    DirectoryWorker(boost::asio::any_io_executor loop,
                    std::unique_ptr<directory::Directory> directory)
        : loop_(std::move(loop)), directory_(std::move(directory)) {}

    ~DirectoryWorker() { pool_.join(); }

    /// Uses `next` from the next call on (a reload that moved the directory); calls already
    /// queued finish on the old one, which is closed on the worker thread after them.
    void replace(std::unique_ptr<directory::Directory> next) {
        boost::asio::post(pool_,
                          [this, next = std::move(next)]() mutable { directory_.swap(next); });
    }
    DirectoryWorker(const DirectoryWorker&) = delete;
    DirectoryWorker& operator=(const DirectoryWorker&) = delete;

    /// Calls `call(Directory&)` (returning Result<T>) on the worker thread. Fails fast with
    /// DirectoryUnavailable when too many calls are queued or the deadline passes.
    /// Not a coroutine itself: the call is posted at once and only the wait is awaited, which
    /// also keeps callable temporaries out of coroutine frames (GCC 12 mishandles those).
    template <typename Call>
    boost::asio::awaitable<std::invoke_result_t<Call, directory::Directory&>> run(
        Call call, std::chrono::steady_clock::duration timeout) {
        using R = std::invoke_result_t<Call, directory::Directory&>;
        auto completion = std::make_shared<net::Completion<R>>(loop_);
        if (queued_ >= kMaxQueued) {
            completion->complete(R(makeError(Errc::DirectoryUnavailable)));
            return waitFor(std::move(completion), timeout);
        }
        ++queued_;
        boost::asio::post(pool_, [this, completion, call = std::move(call)]() mutable {
            R result = call(*directory_);
            // Read here, on the worker thread that owns the backend.
            std::string reason = result ? std::string() : directory_->failureReason();
            boost::asio::post(loop_, [this, completion, result = std::move(result),
                                      reason = std::move(reason)]() mutable {
                --queued_;
                if (!reason.empty()) {
                    lastFailure_ = std::move(reason);
                }
                completion->complete(std::move(result));
            });
        });
        return waitFor(std::move(completion), timeout);
    }

    /// An error of run() for a log line: DirectoryUnavailable with the backend's reason
    /// ("directory unavailable: connection to server at ... failed: Connection refused").
    std::string describe(const ErrorCode& error) const {
        if (error != makeError(Errc::DirectoryUnavailable) || lastFailure_.empty()) {
            return error.message();
        }
        return error.message() + ": " + lastFailure_;
    }

private:
    static constexpr int kMaxQueued = 64;
    boost::asio::any_io_executor loop_;
    std::unique_ptr<directory::Directory> directory_;
    boost::asio::thread_pool pool_{1};  // one thread: backends are single-threaded by contract
    int queued_ = 0;  // calls posted and not yet answered (touched on the loop thread only)
    std::string lastFailure_;  // the backend's latest reason (loop thread only)

    template <typename R>
    static boost::asio::awaitable<R> waitFor(std::shared_ptr<net::Completion<R>> completion,
                                             std::chrono::steady_clock::duration timeout) {
        auto result = co_await completion->wait(timeout);
        if (!result) {
            co_return makeError(Errc::DirectoryUnavailable);
        }
        co_return std::move(*result);
    }
};

}  // namespace nexus::server

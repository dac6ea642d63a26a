// SPDX-License-Identifier: AGPL-3.0-or-later
// One v2 stream against the local app: request head and body up, response head and body down
// (concurrently: the app may answer before the body ends), or a byte pipe after a 101.
#include "client/v2_exchange.hpp"

#include "client/local_forwarder.hpp"
#include "client/v2_exchange_impl.hpp"
#include "client/v2_local_http.hpp"
#include "net/http_headers.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

namespace nexus::client {

namespace detail {

using namespace asio::experimental::awaitable_operators;

asio::awaitable<void> V2Exchange::run() {
    if (!net::isToken(head_.method())) {
        co_await answer(400, "Invalid HTTP method");
    } else if (!isOriginForm(head_.target())) {
        co_await answer(400, "Invalid request target");
    } else {
        webSocket_ = isWebSocketUpgrade(head_.headers());
        hasBody_ = !endStream_ && !webSocket_;  // an upgrade's bytes wait for the 101
        request_ = makeLocalRequest(head_, hasBody_, webSocket_, c_.config);
        for (attempt_ = 0; attempt_ < 2; ++attempt_) {
            if (!co_await connect()) {
                co_await answer(502, "Local server unreachable");
                break;
            }
            if (hasBody_) {
                auto up = upload();
                auto down = download();
                auto both = std::move(up) && std::move(down);
                co_await std::move(both);
                break;
            }
            uploadClean_ = co_await sendHead();
            retry_ = false;
            co_await download();
            if (!retry_) {
                break;
            }
            // A pooled connection the app closed while idle: once more on another one.
            local_.reset();
            buffer_.clear();
            failure_ = {};
        }
    }
    co_await wrapUp();
}

asio::awaitable<bool> V2Exchange::connect() {
    bool reused = false;
    auto stream = co_await c_.pool.checkout(reused);
    if (!stream) {
        failure_ = stream.error();
        co_return false;
    }
    local_ = std::move(*stream);
    reused_ = reused;
    co_return true;
}

// Nothing went to the relay yet: retry a request that cannot have been acted on, else answer.
asio::awaitable<bool> V2Exchange::failBeforeHead() {
    if (stream_->wasReset()) {
        abandon(v2::ResetCode::Cancel);
        co_return false;
    }
    if (attempt_ == 0 && !hasBody_ && !webSocket_ && reused_ && !gotSome_ &&
        (headWriteFailed_ || net::isIdempotent(head_.method()))) {
        retry_ = true;
        co_return false;
    }
    const bool late = failure_ == beast::error::timeout;
    co_await answer(late ? 504 : 502,
                    late ? "Local server did not answer in time" : "Local server unreachable");
    if (local_) {
        local_->close();  // stop the upload: the answer is given
    }
    co_return false;
}

// The agent's own text answer (400, 502, 504), when nothing was sent on the stream yet.
asio::awaitable<void> V2Exchange::answer(int status, std::string_view text) {
    if (headSent_ || stream_->wasReset()) {
        co_return;
    }
    const v2::ResponseHead head{status,
                                {{"content-type", "text/plain; charset=utf-8"},
                                 {"content-length", std::to_string(text.size())}}};
    status_ = status;
    answered_ = true;
    headSent_ = mux_->sendResponse(*stream_, head, false);
    report(RequestEvent::Phase::Head);
    if (headSent_ && co_await stream_->write(text, c_.limits.idleTimeout)) {
        stream_->finish();
    }
}

// Stops both directions: resets the stream (if still open) and closes the local connection,
// so whichever half is still waiting wakes up. Before the head the code picks the relay's
// answer (3 → 504, else 502); after it, the relay can only cut the visitor's connection.
void V2Exchange::abandon(v2::ResetCode code) {
    if (!stream_->wasReset() && !(stream_->finished() && stream_->peerEnded())) {
        stream_->reset(headSent_ ? v2::ResetCode::LocalUnreachable : code);
    }
    if (local_) {
        local_->close();
    }
}

asio::awaitable<void> V2Exchange::wrapUp() {
    if (!stream_->wasReset() && !stream_->finished()) {
        stream_->reset(v2::ResetCode::LocalUnreachable);  // a path that could not finish
    }
    // Read what the relay still sends until its end (or its reset): the mux forgets a
    // stream, and credits its window back, only once both directions are done.
    while (!stream_->wasReset()) {
        auto rest = co_await stream_->read(c_.limits.idleTimeout);
        if (!rest) {
            if (!stream_->peerEnded() && !stream_->wasReset()) {
                stream_->reset(v2::ResetCode::Cancel);
            }
            break;
        }
    }
    if (local_ && uploadClean_ && downloadClean_ && keepAlive_ && !upgraded_ &&
        buffer_.size() == 0) {
        c_.pool.checkin(std::move(local_));
    }
    if (!headSent_) {
        report(RequestEvent::Phase::NoResponse);  // the relay gave up before the app answered
    } else if (!answered_ && failure_) {
        report(RequestEvent::Phase::Broken);
    } else {
        report(RequestEvent::Phase::Done);
    }
}

void V2Exchange::report(RequestEvent::Phase phase) {
    c_.board.report({phase, requestId_, head_.method(), pathForLog(head_.target()),
                     phase == RequestEvent::Phase::NoResponse ? 0 : status_,
                     Clock::now() - started_, failure_});
}

}  // namespace detail

boost::asio::awaitable<void> serveV2Stream(V2Context& context, std::shared_ptr<net::V2Mux> mux,
                                           std::shared_ptr<net::V2Stream> stream,
                                           protocol::v2::ReceivedRequest head, bool endStream) {
    ++context.inFlight;
    context.board.streamOpened();
    detail::V2Exchange exchange(context, std::move(mux), std::move(stream), head, endStream);
    co_await exchange.run();
    context.board.streamClosed();
    --context.inFlight;
}

}  // namespace nexus::client

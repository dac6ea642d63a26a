// SPDX-License-Identifier: AGPL-3.0-or-later
// V2Stream: delivery of the peer's frames to one reader, window grants as it consumes, and
// sending within the stream's and the connection's windows.
#include "net/v2/stream.hpp"

#include "net/v2/mux.hpp"

#include <algorithm>

namespace nexus::net {

namespace {
using Clock = std::chrono::steady_clock;
// How far a stream's receive window may grow when its reader keeps up (see V2Stream::take).
constexpr std::int64_t kMaxStreamWindow = 4 * std::int64_t{v2::kInitialStreamWindow};
constexpr std::int64_t kMaxGrownWindows = v2::kInitialConnectionWindow;
// DATA payloads from this size on are bulk: they let small frames of other streams go first.
constexpr std::size_t kBulkData = 16 * 1024;
}  // namespace

V2Stream::V2Stream(V2Mux& mux, std::uint32_t id)
    : mux_(mux),
      id_(id),
      readSignal_(mux.executor()),
      writeSignal_(mux.executor()),
      receiveWindow_(v2::kInitialStreamWindow),
      sendWindow_(v2::kInitialStreamWindow) {}

void V2Stream::deliverHead(v2::ReceivedResponse head) {
    head_ = std::move(head);
    readSignal_.notify();
}

bool V2Stream::deliverData(std::string payload, bool end) {
    const auto size = static_cast<std::int64_t>(payload.size());
    receiveWindow_ -= size;
    if (receiveWindow_ < 0) {
        return false;
    }
    if (!payload.empty()) {
        if (inbound_.empty()) {
            lastProgress_ = Clock::now();
        }
        inbound_.push_back(std::move(payload));
        std::string update;
        mux_.buffered(size, update);
        mux_.sendFrame(std::move(update));
    }
    peerEnded_ = peerEnded_ || end;
    readSignal_.notify();
    return true;
}

bool V2Stream::grantSend(std::int64_t bytes) {
    sendWindow_ += bytes;
    writeSignal_.notify();
    return sendWindow_ <= static_cast<std::int64_t>(v2::kMaxWindow);
}

void V2Stream::peerReset(std::optional<v2::ResetCode> code) {
    reset_ = true;
    peerResetCode_ = code;
    // After its END the peer resets only our direction (an app that answered without reading
    // the whole upload): its complete answer stays for our reader.
    if (!peerEnded_) {
        discardInbound();
    }
    readSignal_.notify();
    writeSignal_.notify();
}

void V2Stream::discardInbound() {
    // Bytes nobody will read any more still hold connection window: give it back, or every
    // abandoned stream would shrink the connection for all the others.
    lostInbound_ = lostInbound_ || !inbound_.empty();
    std::int64_t unread = held_;
    held_ = 0;
    for (const auto& chunk : inbound_) {
        unread += static_cast<std::int64_t>(chunk.size());
    }
    inbound_.clear();
    std::string update;
    mux_.consumed(unread, update);
    mux_.sendFrame(std::move(update));
}

asio::awaitable<std::optional<v2::ReceivedResponse>> V2Stream::responseHead(
    Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!head_ && !reset_ && mux_.isOpen()) {
        if (!co_await readSignal_.wait(deadline)) {
            break;
        }
    }
    co_return std::move(head_);
}

asio::awaitable<std::optional<std::string>> V2Stream::read(Clock::duration idle) {
    settle();
    auto deadline = Clock::now() + idle;
    while (inbound_.empty() && !peerEnded_ && !reset_ && mux_.isOpen()) {
        if (!co_await readSignal_.wait(deadline)) {
            co_return std::nullopt;
        }
    }
    if (inbound_.empty()) {
        if (peerEnded_ && sentEnd_) {
            mux_.release(id_);  // both directions done
        }
        co_return std::nullopt;
    }
    co_return take();
}

std::optional<std::string> V2Stream::tryRead() {
    if (inbound_.empty()) {
        return std::nullopt;
    }
    return take();
}

std::string V2Stream::take() {
    std::string chunk = std::move(inbound_.front());
    inbound_.pop_front();
    if (!inbound_.empty()) {
        lastProgress_ = Clock::now();
    }
    held_ += static_cast<std::int64_t>(chunk.size());  // granted back by settle()
    return chunk;
}

void V2Stream::settle() {
    // The consumer has written what it took and comes back for more: let the peer send as
    // much again, on the stream and on the connection. Granting only now, not when the bytes
    // leave the buffer, is what bounds everything a stream holds (queued here, or taken and
    // still being written to a slow visitor) to its window. Grants wait until a good part of
    // a window is consumed: granting each small chunk back would cost a frame per chunk and
    // make the sender cut ever smaller frames (silly window syndrome). The peer cannot stall
    // on it: while its window is short, the rest of it is queued here for the consumer.
    //
    // The window grows with the reader: when a grant is due and the reader has already taken
    // everything that arrived, the window, not the reader, is what limits the stream (on a
    // long path one window per round trip), so the grant doubles it, up to kMaxStreamWindow.
    // A reader that stalls never grows its window, and the growth of all streams together is
    // capped (kMaxGrownWindows): readers that were fast and then stall (a visitor who pauses
    // a video) can hold no more than that beyond their initial windows.
    if (held_ == 0) {
        return;
    }
    const std::int64_t size = held_;
    held_ = 0;
    std::string frames;
    pendingGrant_ += size;
    if (!peerEnded_ && pendingGrant_ >= windowTarget_ / 2) {
        std::int64_t grant = pendingGrant_;
        if (inbound_.empty() && windowTarget_ < kMaxStreamWindow &&
            mux_.grownWindows_ + windowTarget_ <= kMaxGrownWindows) {
            grant += windowTarget_;
            mux_.grownWindows_ += windowTarget_;
            windowTarget_ *= 2;
        }
        receiveWindow_ += grant;
        v2::appendWindowUpdate(frames, id_, static_cast<std::uint32_t>(grant));
        pendingGrant_ = 0;
    }
    mux_.consumed(size, frames);
    mux_.sendFrame(std::move(frames));
}

asio::awaitable<bool> V2Stream::waitForWindow(Clock::duration idle) {
    const auto deadline = Clock::now() + idle;
    while (!reset_ && mux_.isOpen() && std::min(sendWindow_, mux_.connectionSendWindow_) <= 0) {
        if (!co_await writeSignal_.wait(deadline)) {
            co_return false;
        }
    }
    co_return !reset_ && mux_.isOpen();
}

asio::awaitable<bool> V2Stream::write(std::string_view bytes, Clock::duration idle, bool last) {
    while (!bytes.empty()) {
        if (!co_await waitForWindow(idle)) {
            co_return false;
        }
        const auto allowed = std::min({sendWindow_, mux_.connectionSendWindow_,
                                       static_cast<std::int64_t>(v2::kMaxDataPayload)});
        const auto n = std::min(bytes.size(), static_cast<std::size_t>(allowed));
        const bool end = last && n == bytes.size();  // the end rides on the last data
        std::string frame;
        (void)v2::appendData(frame, id_, bytes.substr(0, n), end);
        sendWindow_ -= static_cast<std::int64_t>(n);
        mux_.connectionSendWindow_ -= static_cast<std::int64_t>(n);
        if (!send(std::move(frame), n >= kBulkData)) {
            co_return false;
        }
        bytes.remove_prefix(n);
        if (end) {
            sentEnd_ = true;
            ended();
        }
    }
    if (last && !sentEnd_) {
        finish();  // nothing (left) to send: an empty DATA carries the end
    }
    co_return true;
}

asio::awaitable<std::size_t> V2Stream::reserveWindow(std::size_t most, Clock::duration idle) {
    if (!co_await waitForWindow(idle)) {
        co_return 0;
    }
    const auto granted =
        std::min({sendWindow_, mux_.connectionSendWindow_,
                  static_cast<std::int64_t>(v2::kMaxDataPayload), static_cast<std::int64_t>(most)});
    // Taken now: while the caller fills the frame, other streams must not spend it too.
    sendWindow_ -= granted;
    mux_.connectionSendWindow_ -= granted;
    co_return static_cast<std::size_t>(granted);
}

bool V2Stream::sendReserved(std::string frame, std::size_t reserved, bool last) {
    const std::size_t payload =
        frame.size() >= v2::kHeaderSize ? frame.size() - v2::kHeaderSize : 0;
    giveBack(static_cast<std::int64_t>(reserved) - static_cast<std::int64_t>(payload));
    if (payload > reserved || reset_ || !v2::sealData(frame, id_, last)) {
        return false;
    }
    if (payload == 0 && !last) {
        return true;  // nothing read this time: the reservation went back, no frame
    }
    if (!send(std::move(frame), payload >= kBulkData)) {
        return false;
    }
    if (last) {
        sentEnd_ = true;
        ended();
    }
    return true;
}

// Frames of this stream in the order they were made: a DATA frame large enough to be bulk
// waits behind the tunnel's small frames (FrameConnection::sendRaw), and so does every later
// frame of this stream until its bulk is written, or a small end would overtake its data.
bool V2Stream::send(std::string frame, bool large) {
    auto& connection = *mux_.connection_;
    const bool bulk = large || connection.bulkTaken() < bulkTicket_;
    if (bulk) {
        bulkTicket_ = connection.bulkQueued() + 1;
    }
    return connection.sendRaw(std::move(frame), bulk);
}

void V2Stream::giveBack(std::int64_t unused) {
    if (unused > 0) {
        sendWindow_ += unused;
        mux_.connectionSendWindow_ += unused;
        mux_.wakeWriters();  // the connection window grew for everybody
    }
}

void V2Stream::finish() {
    if (!sentEnd_ && !reset_) {
        sentEnd_ = true;
        std::string frame;
        (void)v2::appendData(frame, id_, {}, true);
        send(std::move(frame), false);
    }
    ended();
}

void V2Stream::finish(const v2::HeaderList& trailers) {
    std::string frame;
    if (trailers.empty() || sentEnd_ || reset_ || !v2::appendTrailers(frame, id_, trailers)) {
        finish();  // nothing to add, or trailers too large for a frame: they are dropped
        return;
    }
    sentEnd_ = true;
    send(std::move(frame), false);
    ended();
}

void V2Stream::ended() {
    if (peerEnded_) {
        mux_.release(id_);
    }
}

void V2Stream::reset(v2::ResetCode code) {
    if (!reset_) {
        reset_ = true;
        std::string frame;
        v2::appendReset(frame, id_, code);
        send(std::move(frame), false);
    }
    // Also after the peer's reset: what its finished answer still holds is given up now.
    discardInbound();
    readSignal_.notify();
    writeSignal_.notify();
    mux_.release(id_);
}

}  // namespace nexus::net

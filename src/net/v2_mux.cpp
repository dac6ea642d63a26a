// SPDX-License-Identifier: AGPL-3.0-or-later
// V2Mux and V2Stream: frame dispatch, flow-control accounting, heartbeats.
#include "net/v2_mux.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <algorithm>
#include <vector>

namespace nexus::net {

namespace {
using Clock = std::chrono::steady_clock;
// How far a stream's receive window may grow when its reader keeps up (see V2Stream::take).
constexpr std::int64_t kMaxStreamWindow = 4 * std::int64_t{v2::kInitialStreamWindow};
constexpr std::int64_t kMaxGrownWindows = v2::kInitialConnectionWindow;
// DATA payloads from this size on are bulk: they let small frames of other streams go first.
constexpr std::size_t kBulkData = 16 * 1024;
// A quarter of the connection window: small responses do not each cost the peer a wakeup.
constexpr std::int64_t kConnectionGrantThreshold = v2::kInitialConnectionWindow / 4;
// Over the buffer budget, stalled readers are looked for this often (V2Mux::pressureLoop).
constexpr auto kPressureTick = std::chrono::seconds(1);
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

V2Mux::V2Mux(asio::any_io_executor executor, std::shared_ptr<FrameConnection> connection)
    : executor_(executor),
      connection_(std::move(connection)),
      pingTimer_(executor),
      pressureTimer_(executor) {}

std::shared_ptr<V2Stream> V2Mux::openStream(const v2::RequestHead& head, bool endStream) {
    const std::uint32_t id = nextStreamId_;
    std::string frame;
    if (!connection_->isOpen() || peerGoaway_ || !v2::appendRequest(frame, id, head, endStream)) {
        return nullptr;
    }
    nextStreamId_ += 2;  // the relay's streams are odd and increasing
    auto stream = std::make_shared<V2Stream>(*this, id);
    stream->sentEnd_ = endStream;
    streams_.emplace(id, stream);
    sendFrame(std::move(frame));
    return stream;
}

bool V2Mux::sendResponse(V2Stream& stream, const v2::ResponseHead& head, bool endStream) {
    std::string frame;
    return v2::appendResponse(frame, stream.id(), head, endStream) &&
           sendResponseFrame(stream, std::move(frame), endStream);
}

bool V2Mux::sendResponseFrame(V2Stream& stream, std::string frame, bool endStream) {
    stream.sentEnd_ = endStream;
    const bool sent = sendFrame(std::move(frame));
    if (endStream && stream.peerEnded_) {
        release(stream.id());  // both directions done: nobody else would release it
    }
    return sent;
}

// Connection window accounting. Every DATA byte received into a stream's buffer is credited
// back to the sender exactly once: at once while the buffers of all streams together stay
// within kBufferBudget, else when a reader is done with it. A stream whose reader stalls
// therefore holds its own stream window and nothing of the connection's: stalled downloads
// cannot freeze the other streams of the tunnel until they hold the whole budget. (The invariant
// that makes the arithmetic exact: owed_ <= max(0, buffered_ - kBufferBudget).)
void V2Mux::buffered(std::int64_t bytes, std::string& frames) {
    const std::int64_t within = std::clamp(kBufferBudget - buffered_, std::int64_t{0}, bytes);
    buffered_ += bytes;
    owed_ += bytes - within;
    credit(within, frames);
    if (owed_ > 0 && !pressureWatched_) {
        watchPressure();
    }
}

void V2Mux::consumed(std::int64_t bytes, std::string& frames) {
    buffered_ -= bytes;
    const std::int64_t repaid = std::min(owed_, bytes);
    owed_ -= repaid;
    credit(repaid, frames);
}

void V2Mux::credit(std::int64_t bytes, std::string& frames) {
    connectionPendingGrant_ += bytes;
    // Grants go out in batches, but never leave the sender short of window while we hold some.
    const bool senderShort = connectionReceiveWindow_ < kConnectionGrantThreshold;
    if (connectionPendingGrant_ > 0 &&
        (connectionPendingGrant_ >= kConnectionGrantThreshold || senderShort)) {
        connectionReceiveWindow_ += connectionPendingGrant_;
        v2::appendWindowUpdate(frames, 0, static_cast<std::uint32_t>(connectionPendingGrant_));
        connectionPendingGrant_ = 0;
    }
}

void V2Mux::release(std::uint32_t id) {
    if (const auto found = streams_.find(id); found != streams_.end()) {
        forget(found);
    }
    closeIfDrained();
}

void V2Mux::wakeWriters() {
    for (auto& [id, stream] : streams_) {
        stream->writeSignal_.notify();
    }
}

void V2Mux::forget(Streams::iterator stream) {
    grownWindows_ -= stream->second->windowTarget_ - v2::kInitialStreamWindow;  // back to the pool
    stream->second->settle();  // what its consumer took goes back to the connection window
    streams_.erase(stream);
}

void V2Mux::closeIfDrained() {
    if (peerGoaway_ && streams_.empty() && connection_->isOpen()) {
        // The peer is draining and our last stream is done: close once the frames already
        // queued (that stream's last DATA) are out. run() then ends with this reason.
        if (!closeReason_) {
            closeReason_ = asio::error::eof;
        }
        connection_->closeAfterWrites();
    }
}

void V2Mux::close(ErrorCode reason) {
    if (!closeReason_) {
        closeReason_ = reason;
    }
    connection_->close();
    pingTimer_.cancel();
    pressureTimer_.cancel();
    for (auto& [id, stream] : streams_) {
        stream->peerReset();
    }
}

asio::awaitable<void> V2Mux::pingLoop() {
    while (connection_->isOpen()) {
        pingTimer_.expires_after(v2::kPingInterval);
        co_await pingTimer_.async_wait(asio::as_tuple(asio::use_awaitable));
        std::string frame;
        v2::appendPing(frame, 0, false);
        sendFrame(std::move(frame));
    }
}

void V2Mux::watchPressure() {
    pressureWatched_ = true;
    asio::co_spawn(
        executor_, [self = shared_from_this()] { return self->pressureLoop(); }, asio::detached);
}

asio::awaitable<void> V2Mux::pressureLoop() {
    while (owed_ > 0 && connection_->isOpen()) {
        pressureTimer_.expires_after(kPressureTick);
        co_await pressureTimer_.async_wait(asio::as_tuple(asio::use_awaitable));
        resetStalledReaders(Clock::now() - kStallLimit);
    }
    pressureWatched_ = false;
}

// Over the budget, a stream whose reader has taken nothing for kStallLimit is reset (TIMEOUT),
// stalest first, until the connection window is whole again: fast-then-stalled readers (a
// visitor who opens a hundred downloads and reads none) would otherwise hold the connection
// window of every other stream of the tunnel until their idle timeout.
void V2Mux::resetStalledReaders(Clock::time_point stalledBefore) {
    std::vector<std::shared_ptr<V2Stream>> stalled;
    for (const auto& [id, stream] : streams_) {
        if (!stream->inbound_.empty() && stream->lastProgress_ < stalledBefore) {
            stalled.push_back(stream);
        }
    }
    std::sort(stalled.begin(), stalled.end(),
              [](const auto& a, const auto& b) { return a->lastProgress_ < b->lastProgress_; });
    std::size_t streams = 0;
    const std::int64_t before = buffered_;
    for (const auto& stream : stalled) {
        if (owed_ <= 0) {
            break;
        }
        stream->reset(v2::ResetCode::Timeout);  // its unread bytes repay the connection window
        ++streams;
    }
    if (streams > 0 && onStalledReset_) {
        onStalledReset_(streams, before - buffered_);
    }
}

asio::awaitable<ErrorCode> V2Mux::run() {
    connection_->setIdleTimeout(v2::kPeerTimeout);
    asio::co_spawn(
        executor_, [self = shared_from_this()] { return self->pingLoop(); }, asio::detached);
    for (;;) {
        auto frame = co_await connection_->readV2();
        if (!frame) {
            close(frame.error());
            break;
        }
        if (auto error = dispatch(std::move(*frame))) {
            if (error == asio::error::eof) {  // the peer said GOAWAY
                close(error);
                break;
            }
            std::string goaway;
            v2::appendGoaway(goaway, v2::GoawayCode::ProtocolError, 0);
            sendFrame(std::move(goaway));
            close(error);
            break;
        }
    }
    streams_.clear();
    co_return closeReason_;
}

ErrorCode V2Mux::dispatch(v2::Frame frame) {
    const auto& h = frame.header;
    const auto found = streams_.find(h.stream);
    V2Stream* stream = found == streams_.end() ? nullptr : found->second.get();
    switch (h.type) {
        case v2::FrameType::Request: {
            auto head = v2::decodeReceivedRequest(std::move(frame.payload));
            if (!head || !onRequest_ || h.stream <= lastPeerStreamId_) {
                return makeError(Errc::ProtocolViolation);
            }
            lastPeerStreamId_ = h.stream;
            auto created = std::make_shared<V2Stream>(*this, h.stream);
            created->peerEnded_ = h.endStream();
            streams_.emplace(h.stream, created);
            onRequest_(created, std::move(*head), h.endStream());
            return {};
        }
        case v2::FrameType::Response: {
            auto head = v2::decodeReceivedResponse(std::move(frame.payload));
            if (!head) {
                return head.error();
            }
            if (stream != nullptr) {
                stream->peerEnded_ = h.endStream();
                stream->deliverHead(std::move(*head));
            }
            return {};
        }
        case v2::FrameType::Data:
            connectionReceiveWindow_ -= static_cast<std::int64_t>(frame.payload.size());
            if (connectionReceiveWindow_ < 0) {
                return makeError(Errc::ProtocolViolation);  // the peer ignored our window
            }
            if (stream == nullptr) {
                // A stream we already abandoned: its bytes still count, give them back.
                if (!frame.payload.empty()) {
                    connectionReceiveWindow_ += static_cast<std::int64_t>(frame.payload.size());
                    std::string update;
                    v2::appendWindowUpdate(update, 0,
                                           static_cast<std::uint32_t>(frame.payload.size()));
                    sendFrame(std::move(update));
                }
                return {};
            }
            if (!stream->deliverData(std::move(frame.payload), h.endStream())) {
                return makeError(Errc::ProtocolViolation);
            }
            return {};
        case v2::FrameType::Trailers: {
            auto trailers = v2::decodeHeaderBlock(frame.payload);
            if (!trailers) {
                return trailers.error();
            }
            if (stream != nullptr) {
                stream->trailers_ = std::move(*trailers);
                stream->deliverData({}, true);
            }
            return {};
        }
        case v2::FrameType::WindowUpdate: {
            auto increment = v2::decodeWindowUpdate(frame.payload);
            if (!increment) {
                return increment.error();
            }
            if (h.stream == 0) {
                connectionSendWindow_ += *increment;
                if (connectionSendWindow_ > static_cast<std::int64_t>(v2::kMaxWindow)) {
                    return makeError(Errc::ProtocolViolation);
                }
                wakeWriters();
            } else if (stream != nullptr && !stream->grantSend(*increment)) {
                return makeError(Errc::ProtocolViolation);
            }
            return {};
        }
        case v2::FrameType::Reset: {
            auto code = v2::decodeReset(frame.payload);
            if (!code) {
                return code.error();
            }
            if (stream != nullptr) {
                stream->peerReset(*code);
                forget(found);
                closeIfDrained();
            }
            return {};
        }
        case v2::FrameType::Ping: {
            auto opaque = v2::decodePing(frame.payload);
            if (!opaque) {
                return opaque.error();
            }
            if (!h.ack()) {
                std::string pong;
                v2::appendPing(pong, *opaque, true);
                sendFrame(std::move(pong));
            }
            return {};
        }
        case v2::FrameType::Goaway: {
            auto goaway = v2::decodeGoaway(frame.payload);
            if (!goaway) {
                return goaway.error();
            }
            // The peer drains: it opens nothing new and lets open streams finish, then closes.
            peerGoaway_ = *goaway;
            if (streams_.empty()) {
                return ErrorCode(asio::error::eof);
            }
            return {};
        }
    }
    return makeError(Errc::ProtocolViolation);
}

}  // namespace nexus::net

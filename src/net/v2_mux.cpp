// SPDX-License-Identifier: AGPL-3.0-or-later
// V2Mux and V2Stream: frame dispatch, flow-control accounting, heartbeats.
#include "net/v2_mux.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <algorithm>

namespace nexus::net {

namespace {
using Clock = std::chrono::steady_clock;
constexpr std::int64_t kGrantThreshold = v2::kInitialStreamWindow / 2;
}  // namespace

V2Stream::V2Stream(V2Mux& mux, std::uint32_t id)
    : mux_(mux),
      id_(id),
      readSignal_(mux.executor()),
      writeSignal_(mux.executor()),
      receiveWindow_(v2::kInitialStreamWindow),
      sendWindow_(v2::kInitialStreamWindow) {}

void V2Stream::deliverHead(v2::ResponseHead head) {
    head_ = std::move(head);
    readSignal_.notify();
}

bool V2Stream::deliverData(std::string payload, bool end) {
    receiveWindow_ -= static_cast<std::int64_t>(payload.size());
    if (receiveWindow_ < 0) {
        return false;
    }
    if (!payload.empty()) {
        inbound_.push_back(std::move(payload));
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

void V2Stream::peerReset() {
    reset_ = true;
    discardInbound();
    readSignal_.notify();
    writeSignal_.notify();
}

void V2Stream::discardInbound() {
    // Bytes nobody will read any more still hold connection window: give it back, or every
    // abandoned stream would shrink the connection for all the others.
    std::int64_t unread = 0;
    for (const auto& chunk : inbound_) {
        unread += static_cast<std::int64_t>(chunk.size());
    }
    inbound_.clear();
    if (unread > 0) {
        mux_.connectionReceiveWindow_ += unread;
        std::string update;
        v2::appendWindowUpdate(update, 0, static_cast<std::uint32_t>(unread));
        mux_.sendFrame(std::move(update));
    }
}

asio::awaitable<std::optional<v2::ResponseHead>> V2Stream::responseHead(Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!head_ && !reset_ && mux_.isOpen()) {
        if (!co_await readSignal_.wait(deadline)) {
            break;
        }
    }
    co_return std::move(head_);
}

asio::awaitable<std::optional<std::string>> V2Stream::read(Clock::duration idle) {
    auto deadline = Clock::now() + idle;
    while (inbound_.empty() && !peerEnded_ && !reset_ && mux_.isOpen()) {
        if (!co_await readSignal_.wait(deadline)) {
            co_return std::nullopt;
        }
    }
    if (inbound_.empty() || reset_) {
        if (peerEnded_ && sentEnd_) {
            mux_.release(id_);  // both directions done
        }
        co_return std::nullopt;
    }
    std::string chunk = std::move(inbound_.front());
    inbound_.pop_front();
    // The consumer took the bytes: let the peer send as much again, on the stream and on the
    // connection. Granting only now is what bounds the buffering to one window. The stream's
    // grant waits until half a window is consumed: granting each small chunk back would make
    // the sender cut ever smaller frames (silly window syndrome). The peer cannot stall on it:
    // while its window is short, the rest of it is queued here for the consumer to take.
    const auto size = static_cast<std::uint32_t>(chunk.size());
    mux_.connectionReceiveWindow_ += size;
    std::string frames;
    pendingGrant_ += size;
    if (!peerEnded_ && pendingGrant_ >= kGrantThreshold) {
        receiveWindow_ += pendingGrant_;
        v2::appendWindowUpdate(frames, id_, static_cast<std::uint32_t>(pendingGrant_));
        pendingGrant_ = 0;
    }
    v2::appendWindowUpdate(frames, 0, size);
    mux_.sendFrame(std::move(frames));
    co_return chunk;
}

asio::awaitable<bool> V2Stream::write(std::string_view bytes, Clock::duration idle) {
    while (!bytes.empty()) {
        const auto deadline = Clock::now() + idle;
        while (!reset_ && mux_.isOpen() && std::min(sendWindow_, mux_.connectionSendWindow_) <= 0) {
            if (!co_await writeSignal_.wait(deadline)) {
                co_return false;
            }
        }
        if (reset_ || !mux_.isOpen()) {
            co_return false;
        }
        const auto allowed = std::min({sendWindow_, mux_.connectionSendWindow_,
                                       static_cast<std::int64_t>(v2::kMaxDataPayload)});
        const auto n = std::min(bytes.size(), static_cast<std::size_t>(allowed));
        std::string frame;
        (void)v2::appendData(frame, id_, bytes.substr(0, n), false);
        sendWindow_ -= static_cast<std::int64_t>(n);
        mux_.connectionSendWindow_ -= static_cast<std::int64_t>(n);
        if (!mux_.sendFrame(std::move(frame))) {
            co_return false;
        }
        bytes.remove_prefix(n);
    }
    co_return true;
}

void V2Stream::finish() {
    if (!sentEnd_ && !reset_) {
        sentEnd_ = true;
        std::string frame;
        (void)v2::appendData(frame, id_, {}, true);
        mux_.sendFrame(std::move(frame));
    }
    if (peerEnded_) {
        mux_.release(id_);
    }
}

void V2Stream::reset(v2::ResetCode code) {
    if (!reset_) {
        reset_ = true;
        std::string frame;
        v2::appendReset(frame, id_, code);
        mux_.sendFrame(std::move(frame));
        discardInbound();
        readSignal_.notify();
        writeSignal_.notify();
    }
    mux_.release(id_);
}

V2Mux::V2Mux(asio::any_io_executor executor, std::shared_ptr<FrameConnection> connection)
    : executor_(executor), connection_(std::move(connection)), pingTimer_(executor) {}

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
    if (!v2::appendResponse(frame, stream.id(), head, endStream)) {
        return false;
    }
    stream.sentEnd_ = endStream;
    const bool sent = sendFrame(std::move(frame));
    if (endStream && stream.peerEnded_) {
        release(stream.id());  // both directions done: nobody else would release it
    }
    return sent;
}

void V2Mux::release(std::uint32_t id) {
    streams_.erase(id);
    closeIfDrained();
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
            auto head = v2::decodeRequest(frame.payload);
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
            auto head = v2::decodeResponse(frame.payload);
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
        case v2::FrameType::Trailers:
            if (stream != nullptr) {
                stream->deliverData({}, true);  // trailers are not forwarded over HTTP/1.1 yet
            }
            return {};
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
                for (auto& [id, s] : streams_) {
                    s->writeSignal_.notify();
                }
            } else if (stream != nullptr && !stream->grantSend(*increment)) {
                return makeError(Errc::ProtocolViolation);
            }
            return {};
        }
        case v2::FrameType::Reset:
            if (stream != nullptr) {
                stream->peerReset();
                streams_.erase(found);
                closeIfDrained();
            }
            return {};
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

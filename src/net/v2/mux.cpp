// SPDX-License-Identifier: AGPL-3.0-or-later
// V2Mux: opening and answering streams, frame dispatch, heartbeats, closing and draining.
#include "net/v2/mux.hpp"

#include "net/spawn.hpp"

#include <boost/asio/co_spawn.hpp>

namespace nexus::net {

V2Mux::V2Mux(asio::any_io_executor executor, std::shared_ptr<FrameConnection> connection)
    : executor_(executor),
      connection_(std::move(connection)),
      pingTimer_(executor),
      pressureTimer_(executor) {}

std::shared_ptr<V2Stream> V2Mux::openStream(const v2::RequestHead& head, bool endStream,
                                            ErrorCode* refused) {
    return openStreamWith(
        [&](std::string& frame, std::uint32_t id) {
            return v2::appendRequest(frame, id, head, endStream);
        },
        endStream, refused);
}

bool V2Mux::canOpenStream() const {
    return connection_->isOpen() && !peerGoaway_ && !goingAway_;
}

std::shared_ptr<V2Stream> V2Mux::openedStream(std::string frame, bool endStream) {
    const std::uint32_t id = nextStreamId_;
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
    if ((peerGoaway_ || goingAway_) && streams_.empty() && connection_->isOpen()) {
        // One side is draining and the last stream is done: close once the frames already
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

void V2Mux::closeWithGoaway(v2::GoawayCode code, std::string_view reason, ErrorCode why,
                            std::chrono::steady_clock::duration linger) {
    if (!closeReason_) {
        closeReason_ = why;
    }
    std::string frame;
    v2::appendGoaway(frame, code, 0, reason);
    sendFrame(std::move(frame));
    connection_->closeAfterWrites();
    connection_->setIdleTimeout(linger);  // the watchdog closes it if the write never ends
    pingTimer_.cancel();
    pressureTimer_.cancel();
    for (auto& [id, stream] : streams_) {
        stream->peerReset();
    }
}

void V2Mux::goAway(v2::GoawayCode code, std::uint32_t retryAfterMs, std::string_view reason) {
    if (goingAway_ || !connection_->isOpen()) {
        return;
    }
    goingAway_ = true;
    std::string frame;
    v2::appendGoaway(frame, code, retryAfterMs, reason);
    sendFrame(std::move(frame));
    closeIfDrained();
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
        executor_, [self = shared_from_this()] { return self->pingLoop(); },
        reportFailures("the v2 ping loop"));
    for (;;) {
        auto frame = co_await connection_->readV2();
        if (!frame) {
            close(frame.error());
            break;
        }
        if (auto error = dispatch(std::move(*frame))) {
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
            // With none left, this side closes too, after what it queued: the last response
            // of a stream already ended here may still be on its way out.
            peerGoaway_ = *goaway;
            closeIfDrained();
            return {};
        }
    }
    return makeError(Errc::ProtocolViolation);
}

}  // namespace nexus::net

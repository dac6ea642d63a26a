// SPDX-License-Identifier: AGPL-3.0-or-later
// Protocol v2: binary frames multiplexing streams on the tunnel connection (docs/protocol.md §4).
// Pure codec: bytes in, frames out, no I/O, so it can be fuzzed directly. Stream state, flow
// control windows and timers belong to the session that uses it.
#pragma once

#include "common/error.hpp"
#include "protocol/v1_messages.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace nexus::protocol::v2 {

/// Header names in lowercase, in order, repeats allowed (the same type as v1's).
using HeaderList = v1::HeaderList;

/// The `features` entry, in v1 `register` and `registered{ok:true}`, that switches both sides
/// to v2 framing for every byte after that `registered` frame.
inline constexpr std::string_view kFeatureV2 = "v2";

/// Every frame starts with this many bytes: length, type, flags, reserved, stream.
inline constexpr std::size_t kHeaderSize = 12;
/// Largest DATA payload (exactly 256 KiB is allowed).
inline constexpr std::uint32_t kMaxDataPayload = 256U * 1024U;
/// Largest payload of every other frame type, header blocks included (exactly 64 KiB is allowed).
inline constexpr std::uint32_t kMaxControlPayload = 64U * 1024U;

/// Flow control: initial windows in each direction; DATA payload bytes count against both.
inline constexpr std::uint32_t kInitialStreamWindow = 256U * 1024U;
inline constexpr std::uint32_t kInitialConnectionWindow = 4U * 1024U * 1024U;
/// Largest WINDOW_UPDATE increment, and largest window a receiver may grant.
inline constexpr std::uint32_t kMaxWindow = 0x7fffffffU;

/// Heartbeat: send PING this often; the peer is dead after kPeerTimeout without any frame.
inline constexpr std::chrono::seconds kPingInterval{10};
inline constexpr std::chrono::seconds kPeerTimeout{30};

enum class FrameType : std::uint8_t {
    Request = 0x01,       ///< relay -> agent, opens an odd stream: method, target, headers
    Response = 0x02,      ///< agent -> relay: status, headers
    Data = 0x03,          ///< raw body bytes, either direction
    Trailers = 0x04,      ///< trailer headers; ends the sender's direction
    WindowUpdate = 0x05,  ///< u32 increment; stream 0 is the connection window
    Reset = 0x06,         ///< u32 ResetCode; abandons one stream
    Ping = 0x07,          ///< 8 opaque bytes; flag Ack marks the answer; stream 0
    Goaway = 0x08,        ///< u32 GoawayCode, u32 retry-after ms, reason; stream 0; drains
};

/// Flag bits (offset 5). Any bit a frame type does not define is a protocol violation.
inline constexpr std::uint8_t kFlagEndStream = 0x01;  ///< Request, Response, Data, Trailers
inline constexpr std::uint8_t kFlagAck = 0x02;        ///< Ping

/// RESET payload. A receiver treats a code it does not know like Cancel.
enum class ResetCode : std::uint32_t {
    Cancel = 0,
    ProtocolError = 1,
    Refused = 2,
    Timeout = 3,
    TooLarge = 4,
    LocalUnreachable = 5,
};

/// GOAWAY payload. A receiver treats a code it does not know like Shutdown.
enum class GoawayCode : std::uint32_t {
    Shutdown = 0,       ///< restart or maintenance: reconnect after retry-after
    ProtocolError = 1,  ///< the sender received a frame it could not accept
    Superseded = 2,     ///< a newer session took the slug over: do not reconnect to fight it
    Revoked = 3,        ///< the directory no longer lists the slug
};

/// The 12-byte frame header, already checked against the rules that need no stream state.
struct FrameHeader {
    std::uint32_t length = 0;  ///< payload bytes after the header
    FrameType type = FrameType::Data;
    std::uint8_t flags = 0;
    std::uint32_t stream = 0;  ///< 0 = the connection itself

    bool endStream() const { return (flags & kFlagEndStream) != 0 || type == FrameType::Trailers; }
    bool ack() const { return (flags & kFlagAck) != 0; }
};

struct Frame {
    FrameHeader header;
    std::string payload;
};

struct RequestHead {
    std::string method;  ///< a token, e.g. "GET"; 1..255 bytes
    std::string target;  ///< origin-form as received, e.g. "/a?b"; 1..65535 bytes, no CTL/space
    HeaderList headers;
    /// One more field, encoded after `headers` without their checks, for a field the sender
    /// made itself and knows to be valid (HeadFrameBuilder::addOwn's rule): a lowercase token name,
    /// a value without CR, LF or NUL. None when the name is empty. The decoder never fills it in:
    /// received, the field is one of `headers`.
    std::string_view ownName;
    std::string_view ownValue;
};

struct ResponseHead {
    int status = 0;  ///< 100..999; 101 turns the stream into a raw byte pipe
    HeaderList headers;
};

/// The big-endian number in the `width` bytes at `at` (1, 2 or 4); the caller has checked
/// that they are there.
inline std::uint32_t readBigEndian(const char* at, std::size_t width) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < width; ++i) {
        v = (v << 8) | static_cast<unsigned char>(at[i]);
    }
    return v;
}

/// The fields of a header block checked whole by decodeReceivedResponse, read in place: the
/// relay turns a RESPONSE frame into the visitor's head without a string per field.
class HeaderBlockView {
public:
    class Iterator {
    public:
        // NOLINTBEGIN(readability-identifier-naming): the standard iterator concepts' names.
        using value_type = std::pair<std::string_view, std::string_view>;
        using difference_type = std::ptrdiff_t;
        // NOLINTEND(readability-identifier-naming)
        Iterator() = default;
        Iterator(const char* at, std::uint32_t left) : at_(at), left_(left) {}
        value_type operator*() const {
            const std::uint32_t nameLength = readBigEndian(at_, 2);
            const char* value = at_ + 2 + nameLength + 4;
            return {std::string_view(at_ + 2, nameLength),
                    std::string_view(value, readBigEndian(at_ + 2 + nameLength, 4))};
        }
        Iterator& operator++() {
            const std::uint32_t nameLength = readBigEndian(at_, 2);
            at_ += 2 + nameLength + 4 + readBigEndian(at_ + 2 + nameLength, 4);
            --left_;
            return *this;
        }
        Iterator operator++(int) {
            auto before = *this;
            ++*this;
            return before;
        }
        bool operator==(const Iterator& other) const { return left_ == other.left_; }

    private:
        const char* at_ = nullptr;
        std::uint32_t left_ = 0;  ///< fields from here to the end
    };

    HeaderBlockView() = default;
    /// `fields`: the block after its count, already checked to hold `count` valid fields.
    HeaderBlockView(std::string_view fields, std::uint32_t count)
        : fields_(fields), count_(count) {}

    Iterator begin() const { return {fields_.data(), count_}; }
    Iterator end() const { return {nullptr, 0}; }
    std::uint32_t size() const { return count_; }

private:
    std::string_view fields_;
    std::uint32_t count_ = 0;
};

/// A RESPONSE frame as the relay keeps it: the payload, checked as decodeResponse checks it,
/// with its fields left in place.
struct ReceivedResponse {
    int status = 0;
    std::string payload;
    std::uint32_t fieldCount = 0;

    HeaderBlockView headers() const {
        return {std::string_view(payload).substr(kFieldsOffset), fieldCount};
    }
    /// The first value of a field, empty when absent.
    std::string_view header(std::string_view name) const;

    static constexpr std::size_t kFieldsOffset = 4;  ///< after the status and the count
};

/// A REQUEST frame as the agent keeps it: the payload, checked as decodeRequest checks it,
/// with the method, target and fields read in place (the agent writes them straight into the
/// local app's request head).
struct ReceivedRequest {
    std::string payload;
    std::uint32_t targetLength = 0;
    std::uint32_t fieldCount = 0;

    std::string_view method() const { return std::string_view(payload).substr(1, methodLength()); }
    std::string_view target() const {
        return std::string_view(payload).substr(1 + methodLength() + 2, targetLength);
    }
    HeaderBlockView headers() const {
        return {std::string_view(payload).substr(1 + methodLength() + 2 + targetLength + 2),
                fieldCount};
    }

private:
    std::size_t methodLength() const { return static_cast<unsigned char>(payload[0]); }
};

/// The most a GOAWAY's reason text may hold (a sentence for the peer's log, not a document).
inline constexpr std::size_t kMaxGoawayReason = 1024;

struct Goaway {
    GoawayCode code = GoawayCode::Shutdown;
    std::uint32_t retryAfterMs = 0;
    std::string reason;  ///< UTF-8 for a log line, may be empty (then the payload is 8 bytes)
};

/// An RFC 9110 token of 1..255 bytes, any case ("GET", "PROPFIND").
bool isValidMethod(std::string_view method);
/// 1..65535 bytes, none of them a control character, space or DEL (the origin-form check
/// itself is the agent's).
bool isValidTarget(std::string_view target);
/// A lowercase RFC 9110 token: non-empty, tchar only, no uppercase letter.
bool isValidHeaderName(std::string_view name);
/// No CR, LF or NUL (other bytes, obs-text included, pass through).
bool isValidHeaderValue(std::string_view value);
/// The decimal content-length among the fields, if every content-length field holds the same
/// well-formed value (repeats of one value are allowed, RFC 9110 §8.6); nullopt when there is
/// none, or when they conflict or are malformed: then no length is trusted at all.
std::optional<std::uint64_t> contentLength(const HeaderList& headers);
std::optional<std::uint64_t> contentLength(HeaderBlockView headers);

// Encoders append one whole frame (header + payload) to `out`, reserving once, so it can go out
// in one write. On error `out` is left unchanged. Errors: FrameTooLarge when the payload would
// exceed its limit; InvalidArgument for a bad stream id, method, target, status or header.

/// Stream must be odd. endStream = no request body follows.
[[nodiscard]] Result<void> appendRequest(std::string& out, std::uint32_t stream,
                                         const RequestHead& head, bool endStream);
/// Stream must be non-zero. endStream = no response body follows.
[[nodiscard]] Result<void> appendResponse(std::string& out, std::uint32_t stream,
                                          const ResponseHead& head, bool endStream);
/// Builds a RESPONSE or REQUEST frame one header field at a time, straight into `out`: for a
/// caller whose fields are not a HeaderList (the agent encodes a parsed response head from the
/// parser's own fields, the relay a visitor's request from the HTTP parser's, with no copy in
/// between). Nothing is valid in `out` until finish() succeeds.
class HeadFrameBuilder {
public:
    HeadFrameBuilder(const HeadFrameBuilder&) = delete;
    HeadFrameBuilder& operator=(const HeadFrameBuilder&) = delete;

    /// Adds a field whose name must already be lowercase; false, and nothing added, for a name
    /// that is not a lowercase token or a value with CR, LF or NUL.
    bool add(std::string_view name, std::string_view value) { return put(name, value, false); }
    /// The same, with the name's ASCII letters lowercased on the way in.
    bool addLowercased(std::string_view name, std::string_view value) {
        return put(name, value, true);
    }
    /// Adds a field without those checks, for one the sender made itself and knows to be valid
    /// (the relay's x-request-id, once per request): a lowercase token name, a value without
    /// CR, LF or NUL.
    void addOwn(std::string_view name, std::string_view value);

    /// Completes the frame (with END_STREAM if `endStream`). InvalidArgument for a stream id
    /// the type forbids, a status outside 100..999, a method or target that cannot be sent;
    /// FrameTooLarge beyond kMaxControlPayload or 65535 fields. On error `out` is back as it
    /// was.
    [[nodiscard]] Result<void> finish(bool endStream);
    /// Takes the partial frame back out of `out`.
    void cancel() { out_.resize(start_); }

protected:
    /// `reserve` bytes of room in all. The derived builder then appends the frame header's
    /// room, its fixed part and the field count's room, and sets countAt_; finish() fills
    /// them in.
    HeadFrameBuilder(std::string& out, FrameType type, std::uint32_t stream, std::size_t reserve);

    bool valid_ = true;        ///< false: finish() answers InvalidArgument
    std::size_t countAt_ = 0;  ///< where the u16 field count goes

private:
    bool put(std::string_view name, std::string_view value, bool lowercase);

    std::string& out_;
    std::size_t start_;
    FrameType type_;
    std::uint32_t stream_;
    std::size_t fields_ = 0;
};

class ResponseFrameBuilder : public HeadFrameBuilder {
public:
    /// Stream must be non-zero; status within 100..999 (else finish() fails).
    ResponseFrameBuilder(std::string& out, std::uint32_t stream, int status);
};

class RequestFrameBuilder : public HeadFrameBuilder {
public:
    /// Stream must be odd; `method` a token of 1..255 bytes, `target` 1..65535 bytes without
    /// CTL or space (else finish() fails). `reserve`: the room the whole frame is expected to
    /// take, so that it is allocated once.
    RequestFrameBuilder(std::string& out, std::uint32_t stream, std::string_view method,
                        std::string_view target, std::size_t reserve = 0);
};

/// Stream must be non-zero; bytes.size() <= kMaxDataPayload. An empty payload is allowed (to
/// carry endStream alone).
[[nodiscard]] Result<void> appendData(std::string& out, std::uint32_t stream,
                                      std::string_view bytes, bool endStream);
/// A DATA frame whose payload was written in place: `frame` holds kHeaderSize bytes of room,
/// then the payload (so a socket can read straight into a frame); writes the header into the
/// room. Same limits as appendData.
[[nodiscard]] Result<void> sealData(std::string& frame, std::uint32_t stream, bool endStream);
/// Stream must be non-zero. Always carries END_STREAM.
[[nodiscard]] Result<void> appendTrailers(std::string& out, std::uint32_t stream,
                                          const HeaderList& trailers);

// Fixed-size frames: the arguments are the program's own choices, so preconditions are
// asserted rather than returned.

/// increment in 1..kMaxWindow; stream 0 = the connection window.
void appendWindowUpdate(std::string& out, std::uint32_t stream, std::uint32_t increment);
/// stream != 0.
void appendReset(std::string& out, std::uint32_t stream, ResetCode code);
/// On stream 0; `opaque` goes out big-endian. ack = the answer, echoing the received opaque.
void appendPing(std::string& out, std::uint64_t opaque, bool ack);
/// On stream 0.
/// `reason` is cut to kMaxGoawayReason bytes.
void appendGoaway(std::string& out, GoawayCode code, std::uint32_t retryAfterMs,
                  std::string_view reason = {});

/// Decodes and checks the first kHeaderSize bytes of `bytes` (fewer → TruncatedFrame):
/// FrameTooLarge above the type's limit; ProtocolViolation for an unknown type, a non-zero
/// reserved field, an undefined flag bit, a stream id the type forbids (REQUEST on an even or
/// zero stream; RESPONSE, DATA, TRAILERS, RESET on stream 0; PING, GOAWAY off stream 0) or a
/// fixed-size payload of the wrong length (WINDOW_UPDATE and RESET 4, PING 8, GOAWAY 8 to
/// 8 + kMaxGoawayReason).
Result<FrameHeader> decodeHeader(std::string_view bytes);

// Payload decoders: the whole payload must be consumed; anything malformed, truncated or left
// over is ProtocolViolation.

Result<RequestHead> decodeRequest(std::string_view payload);
/// The same checks as decodeRequest, keeping the payload instead of copying its parts.
Result<ReceivedRequest> decodeReceivedRequest(std::string payload);
Result<ResponseHead> decodeResponse(std::string_view payload);
/// The same checks as decodeResponse, keeping the payload instead of copying its fields.
Result<ReceivedResponse> decodeReceivedResponse(std::string payload);
/// A TRAILERS payload: exactly one header block.
Result<HeaderList> decodeHeaderBlock(std::string_view payload);
/// 1..kMaxWindow.
Result<std::uint32_t> decodeWindowUpdate(std::string_view payload);
/// Any u32 (unknown codes are returned as is: handle them like Cancel).
Result<ResetCode> decodeReset(std::string_view payload);
Result<std::uint64_t> decodePing(std::string_view payload);
/// Any code (unknown codes are returned as is: handle them like Shutdown).
Result<Goaway> decodeGoaway(std::string_view payload);

}  // namespace nexus::protocol::v2

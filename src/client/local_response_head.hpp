// SPDX-License-Identifier: AGPL-3.0-or-later
// The local app's HTTP/1.x response head, read in one pass over the bytes that hold it: the
// status, the fields in order, and what frames the body after it. The agent reads a head for
// every request, and a general parser that stores each field before it can be looked at was
// the largest share of the agent's work per request.
#pragma once

#include "common/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace nexus::client {

/// The most a response head may take, status line and empty line included.
inline constexpr std::size_t kMaxResponseHead = 64 * 1024;

/// Interim (1xx) responses the agent reads before a final one, and drops (RFC 9110 §15.2: a
/// client may ignore them). More is a malformed response.
inline constexpr int kMaxInterimResponses = 16;

/// An interim response: 1xx, except 101, which ends the HTTP exchange on the connection and is
/// final (valid only in answer to a request that asked for the upgrade).
constexpr bool isInterim(int status) {
    return status >= 100 && status < 200 && status != 101;
}

/// The size of the head at the start of `bytes` (up to and including the empty line that ends
/// it), or nullopt while that line has not arrived.
std::optional<std::size_t> responseHeadSize(std::string_view bytes);

/// How the body after a head is delimited (RFC 9112 §6.3).
enum class LocalBodyFraming {
    None,        ///< no body: HEAD, 1xx, 204, 304, or a content-length of 0
    Length,      ///< exactly `length` bytes
    Chunked,     ///< the chunked coding, trailers possible
    UntilClose,  ///< whatever comes until the app closes the connection
};

/// One field of a head, as on the wire: the name's case kept, the value without the spaces
/// around it.
struct ResponseField {
    std::string_view name;
    std::string_view value;
    /// A field for this connection only (RFC 9110 §7.6.1); on a 101, `upgrade` and
    /// `connection` are not: they say what the connection switches to.
    bool hopByHop = false;
};

/// Reads a complete head (responseHeadSize bytes): statusLine() first, then nextField() until
/// it has no more, then framing(). Any malformed line makes the head invalid (error()):
/// - a status line other than `HTTP/1.0` or `HTTP/1.1`, a three-digit code and a reason;
/// - a line not ended by CRLF, or holding a control character other than HTAB (a bare CR,
///   LF or NUL among them);
/// - a field without a token name directly followed by a colon, or continued on the next
///   line (obsolete line folding);
/// - a content-length that is not a number, or given twice, or next to a transfer-encoding
///   (RFC 9112 §6.3 treats that last one as a likely attempt to smuggle a response).
class ResponseHeadReader {
public:
    explicit ResponseHeadReader(std::string_view head) : rest_(head) {}

    /// Reads the status line; false if it is malformed.
    bool statusLine();
    int status() const { return status_; }

    /// The next field, or nullopt at the end of the head or at a malformed line (error()).
    std::optional<ResponseField> nextField();

    /// ProtocolViolation once a line was malformed.
    ErrorCode error() const { return error_; }

    /// How the body is delimited, once every field was read. A response to HEAD has none
    /// whatever it announces.
    LocalBodyFraming framing(bool headRequest) const;
    std::uint64_t contentLength() const { return contentLength_.value_or(0); }
    /// The connection may carry another request after this response and its body.
    bool keepAlive(bool headRequest) const;
    /// A 101 whose upgrade field names websocket.
    bool switchesToWebSocket() const { return status_ == 101 && upgradeWebSocket_; }

private:
    std::optional<std::string_view> line();
    bool fail();
    void observe(ResponseField& field);

    std::string_view rest_;
    int status_ = 0;
    bool http10_ = false;
    bool closeToken_ = false;
    bool keepAliveToken_ = false;
    bool upgradeWebSocket_ = false;
    bool transferEncoding_ = false;
    bool chunkedLast_ = false;
    std::optional<std::uint64_t> contentLength_;
    ErrorCode error_;
};

}  // namespace nexus::client

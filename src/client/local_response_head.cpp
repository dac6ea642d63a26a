// SPDX-License-Identifier: AGPL-3.0-or-later
// ResponseHeadReader.
#include "client/local_response_head.hpp"

#include "common/ascii.hpp"
#include "net/http_headers.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace nexus::client {

namespace {

// The fields the reader acts on.
enum class FieldKind { Other, ContentLength, TransferEncoding, Connection, Upgrade, HopByHop };

bool equalsLowercase(std::string_view name, std::string_view lowercase) {
    return std::equal(name.begin(), name.end(), lowercase.begin(), lowercase.end(),
                      [](char a, char b) { return asciiLower(a) == b; });
}

struct KnownField {
    std::string_view name;
    FieldKind kind;
};

constexpr std::array<KnownField, 10> kKnownFields{{
    {"content-length", FieldKind::ContentLength},
    {"transfer-encoding", FieldKind::TransferEncoding},
    {"connection", FieldKind::Connection},
    {"upgrade", FieldKind::Upgrade},
    {"te", FieldKind::HopByHop},
    {"trailer", FieldKind::HopByHop},
    {"keep-alive", FieldKind::HopByHop},
    {"proxy-connection", FieldKind::HopByHop},
    {"proxy-authenticate", FieldKind::HopByHop},
    {"proxy-authorization", FieldKind::HopByHop},
}};

constexpr std::uint32_t lengthsOf(const std::array<KnownField, 10>& fields) {
    std::uint32_t mask = 0;
    for (const auto& field : fields) {
        mask |= 1U << field.name.size();
    }
    return mask;
}
constexpr std::uint32_t kKnownLengths = lengthsOf(kKnownFields);  // bit n: a name of n bytes

FieldKind kindOf(std::string_view name) {
    // By length first: the common fields (date, server, content-type, etag…) have none of
    // these lengths and are settled without comparing a byte.
    if (name.size() >= 32 || ((kKnownLengths >> name.size()) & 1U) == 0) {
        return FieldKind::Other;
    }
    for (const auto& known : kKnownFields) {
        if (known.name.size() == name.size() && equalsLowercase(name, known.name)) {
            return known.kind;
        }
    }
    return FieldKind::Other;
}

bool isSpace(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && isSpace(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && isSpace(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

// The last non-empty element of a comma-separated list: the coding applied last.
std::string_view lastListItem(std::string_view value) {
    while (!value.empty()) {
        const auto comma = value.rfind(',');
        const auto item =
            trimmed(comma == std::string_view::npos ? value : value.substr(comma + 1));
        if (!item.empty() || comma == std::string_view::npos) {
            return item;
        }
        value = value.substr(0, comma);
    }
    return {};
}

// True if the text holds a control character other than HTAB (NUL, a bare CR or LF among
// them): RFC 9110 §5.5 allows only HTAB, SP, visible characters and obs-text in a field value,
// and RFC 9112 §4 the same in a reason phrase. Eight bytes at a time, as every line of every
// head goes through it; a word with a suspect byte (usually a tab) is looked at byte by byte.
bool holdsControl(std::string_view text) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
    std::size_t at = 0;
    for (; at + sizeof(std::uint64_t) <= text.size(); at += sizeof(std::uint64_t)) {
        std::uint64_t word = 0;
        std::memcpy(&word, text.data() + at, sizeof word);
        const std::uint64_t below = (word - kOnes * 0x20) & ~word & kHighs;  // a byte < 0x20
        if ((below | detail::hasZeroByte(word ^ (kOnes * 0x7f))) != 0) {     // or a DEL
            break;
        }
    }
    for (; at < text.size(); ++at) {
        const auto c = static_cast<unsigned char>(text[at]);
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return true;
        }
    }
    return false;
}

}  // namespace

std::optional<std::size_t> responseHeadSize(std::string_view bytes) {
    // The head ends at the first CRLF CRLF; a bare CR or LF inside it is refused later, line
    // by line, so looking for CR alone is enough here.
    std::size_t from = 0;
    for (;;) {
        const void* cr = std::memchr(bytes.data() + from, '\r', bytes.size() - from);
        if (cr == nullptr) {
            return std::nullopt;
        }
        const auto at = static_cast<std::size_t>(static_cast<const char*>(cr) - bytes.data());
        if (bytes.size() - at < 4) {
            return std::nullopt;
        }
        if (bytes.compare(at, 4, "\r\n\r\n") == 0) {
            return at + 4;
        }
        from = at + 1;
    }
}

bool ResponseHeadReader::fail() {
    error_ = makeError(Errc::ProtocolViolation);
    rest_ = {};
    return false;
}

// The next line without its CRLF; nullopt (and the head invalid) for a control character in
// it other than HTAB, a bare CR, LF or NUL included.
std::optional<std::string_view> ResponseHeadReader::line() {
    const auto end = rest_.find("\r\n");
    if (end == std::string_view::npos) {
        fail();
        return std::nullopt;
    }
    const auto text = rest_.substr(0, end);
    rest_.remove_prefix(end + 2);
    if (holdsControl(text)) {
        fail();
        return std::nullopt;
    }
    return text;
}

bool ResponseHeadReader::statusLine() {
    const auto text = line();
    // "HTTP/1.1 200 OK": the version, one space, three digits, then a space and the reason
    // (which may be empty, and whose space some servers leave out when it is).
    if (!text || text->size() < 12 || !text->starts_with("HTTP/1.") || (*text)[8] != ' ') {
        return text ? fail() : false;
    }
    const char minor = (*text)[7];
    if (minor != '0' && minor != '1') {
        return fail();
    }
    http10_ = minor == '0';
    const auto code = text->substr(9, 3);
    if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        (text->size() > 12 && (*text)[12] != ' ')) {
        return fail();
    }
    status_ = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (status_ < 100) {
        return fail();
    }
    return true;
}

std::optional<ResponseField> ResponseHeadReader::nextField() {
    if (rest_.empty()) {
        return std::nullopt;
    }
    const auto text = line();
    if (!text || text->empty()) {
        return std::nullopt;  // the empty line: the end (or a bad line: error())
    }
    const auto colon = text->find(':');
    const auto name = text->substr(0, colon);
    if (colon == std::string_view::npos || !net::isToken(name)) {
        fail();  // includes a folded line, which starts with a space
        return std::nullopt;
    }
    ResponseField field{name, trimmed(text->substr(colon + 1))};
    observe(field);
    if (error_) {
        return std::nullopt;
    }
    return field;
}

void ResponseHeadReader::observe(ResponseField& field) {
    switch (kindOf(field.name)) {
        case FieldKind::Other: return;
        case FieldKind::ContentLength: {
            std::uint64_t length = 0;
            const auto* end = field.value.data() + field.value.size();
            const auto [at, ec] = std::from_chars(field.value.data(), end, length);
            if (contentLength_ || field.value.empty() || ec != std::errc() || at != end) {
                fail();
            }
            contentLength_ = length;
            break;
        }
        case FieldKind::TransferEncoding:
            field.hopByHop = true;
            transferEncoding_ = true;
            if (const auto last = lastListItem(field.value); !last.empty()) {
                chunkedLast_ = equalsLowercase(last, "chunked");
            }
            break;
        case FieldKind::Connection:
            field.hopByHop = status_ != 101;  // a 101's say what the connection becomes
            closeToken_ = closeToken_ || net::listsToken(field.value, "close");
            keepAliveToken_ = keepAliveToken_ || net::listsToken(field.value, "keep-alive");
            break;
        case FieldKind::Upgrade:
            field.hopByHop = status_ != 101;
            upgradeWebSocket_ = upgradeWebSocket_ || net::listsToken(field.value, "websocket");
            break;
        case FieldKind::HopByHop: field.hopByHop = true; break;
    }
    if (contentLength_ && transferEncoding_) {
        fail();
    }
}

LocalBodyFraming ResponseHeadReader::framing(bool headRequest) const {
    if (net::responseHasNoBody(status_, headRequest)) {
        return LocalBodyFraming::None;
    }
    if (transferEncoding_) {
        // A coding other than chunked last leaves only the close to end the body.
        return chunkedLast_ ? LocalBodyFraming::Chunked : LocalBodyFraming::UntilClose;
    }
    if (contentLength_) {
        return *contentLength_ == 0 ? LocalBodyFraming::None : LocalBodyFraming::Length;
    }
    return LocalBodyFraming::UntilClose;
}

bool ResponseHeadReader::keepAlive(bool headRequest) const {
    if (framing(headRequest) == LocalBodyFraming::UntilClose || closeToken_) {
        return false;
    }
    return http10_ ? keepAliveToken_ : true;
}

}  // namespace nexus::client

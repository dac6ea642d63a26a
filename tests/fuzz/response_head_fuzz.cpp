// SPDX-License-Identifier: AGPL-3.0-or-later
// libFuzzer entry point for the agent's reader of the local app's response heads: arbitrary
// bytes through responseHeadSize, ResponseHeadReader and appendResponseFrame, with what each
// promises checked: the head ends at the first empty line, every field it hands out is a token
// name and a trimmed value without CR, LF or NUL, an error is final, the framing follows the
// head, and a RESPONSE frame decodes back to the status and the fields that may cross.
//
// Build (clang): clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc
//   tests/fuzz/response_head_fuzz.cpp src/client/local_response_head.cpp
//   src/client/v2_local_http.cpp src/net/http_headers.cpp src/protocol/v2_decode.cpp
//   src/protocol/v2_fields.cpp src/protocol/v2_encode.cpp src/common/error.cpp
//   -o response_head_fuzz
#include "client/local_response_head.hpp"
#include "client/v2_local_http.hpp"
#include "common/ascii.hpp"
#include "net/http_headers.hpp"
#include "protocol/v2_frames.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using namespace nexus;
using client::LocalBodyFraming;
using client::ResponseHeadReader;

void check(bool condition) {
    if (!condition) {
        std::abort();
    }
}

bool isTrimmedSafeValue(std::string_view value) {
    if (!value.empty() && (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' ||
                           value.back() == '\t')) {
        return false;
    }
    for (const char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
            return false;
        }
    }
    return true;
}

// The fields a RESPONSE frame of this head may carry: every field that is not hop-by-hop,
// lowercased, in order. Empty and `valid` false for a malformed head.
std::vector<std::pair<std::string, std::string>> crossingFields(std::string_view head,
                                                                bool headRequest, bool& valid) {
    std::vector<std::pair<std::string, std::string>> fields;
    ResponseHeadReader reader(head);
    valid = reader.statusLine();
    if (!valid) {
        check(static_cast<bool>(reader.error()));
        check(!reader.nextField() && !reader.nextField());
        return fields;
    }
    check(reader.status() >= 100 && reader.status() <= 999);
    while (const auto field = reader.nextField()) {
        check(!field->name.empty() && net::isToken(field->name));
        check(isTrimmedSafeValue(field->value));
        if (!field->hopByHop) {
            fields.emplace_back(asciiLower(field->name), std::string(field->value));
        }
    }
    if (reader.error()) {
        check(!reader.nextField());  // an error is final
        valid = false;
        return {};
    }
    const auto framing = reader.framing(headRequest);
    check(!headRequest || framing == LocalBodyFraming::None);
    check(framing != LocalBodyFraming::UntilClose || !reader.keepAlive(headRequest));
    check(framing != LocalBodyFraming::Length || reader.contentLength() > 0);
    check(!reader.switchesToWebSocket() || reader.status() == 101);
    return fields;
}

void checkFrame(std::string_view head, bool headRequest) {
    bool valid = false;
    const auto expected = crossingFields(head, headRequest, valid);

    const std::string before = "kept";
    std::string out = before;
    ResponseHeadReader reader(head);
    if (!reader.statusLine()) {
        check(!valid);
        return;
    }
    const auto framing = client::appendResponseFrame(out, 7, reader, headRequest);
    if (!framing) {
        check(out == before);  // nothing left behind
        return;
    }
    check(valid);
    const std::string_view frame = std::string_view(out).substr(before.size());
    const auto header = protocol::v2::decodeHeader(frame);
    check(header.has_value() && header->type == protocol::v2::FrameType::Response &&
          header->stream == 7 && header->length + protocol::v2::kHeaderSize == frame.size());
    const bool bodiless = *framing == LocalBodyFraming::None && reader.status() != 101;
    check(header->endStream() == bodiless);
    const auto decoded = protocol::v2::decodeResponse(frame.substr(protocol::v2::kHeaderSize));
    check(decoded.has_value() && decoded->status == reader.status());
    // A field that cannot travel is dropped, never altered: what crossed is the expected
    // fields in order, some perhaps left out.
    std::size_t next = 0;
    for (const auto& field : decoded->headers) {
        while (next < expected.size() && expected[next] != field) {
            ++next;
        }
        check(next < expected.size());
        ++next;
    }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer looks for.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    // The first byte's low bit: the response answers a HEAD request.
    const bool headRequest = (data[0] & 1) != 0;
    std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    // Heads one after the other, as interim responses precede a final one on a connection.
    while (const auto headSize = client::responseHeadSize(input)) {
        check(*headSize >= 4 && *headSize <= input.size());
        check(input.substr(*headSize - 4, 4) == "\r\n\r\n");
        check(input.find("\r\n\r\n") == *headSize - 4);  // the first empty line, no later one
        checkFrame(input.substr(0, *headSize), headRequest);
        input.remove_prefix(*headSize);
    }
    check(input.find("\r\n\r\n") == std::string_view::npos);
    return 0;
}

// SPDX-License-Identifier: AGPL-3.0-or-later
// appendForwardedRequest.
#include "server/v2_request_frame.hpp"

#include "protocol/v2_frames.hpp"

namespace nexus::server {

namespace v2 = protocol::v2;

namespace {
// The frame's size if every field crosses, plus `connection: upgrade` and the id: the frame is
// allocated once.
std::size_t sizeAtMost(std::string_view method, std::string_view target,
                       const net::Fields& fields) {
    std::size_t size = v2::kHeaderSize + 1 + method.size() + 2 + target.size() + 2 + (6 + 10 + 7) +
                       (6 + kRequestIdField.size() + kMaxRequestId);
    for (const auto& field : fields) {
        size += 6 + field.name_string().size() + field.value().size();
    }
    return std::min<std::size_t>(size, v2::kHeaderSize + v2::kMaxControlPayload);
}
}  // namespace

Result<void> appendForwardedRequest(std::string& out, std::uint32_t stream, std::string_view method,
                                    std::string_view target, const net::Fields& fields,
                                    bool upgrade, bool endStream, const Visitor& visitor,
                                    RequestIds& ids, std::string& id) {
    v2::RequestFrameBuilder frame(out, stream, method, target, sizeAtMost(method, target, fields));
    bool encodable = true;
    const auto proxied =
        forEachForwardedField(fields, upgrade, [&](std::string_view name, std::string_view value) {
            encodable = frame.addLowercased(name, value) && encodable;
        });
    chooseRequestId(proxied, visitor, ids, id);
    if (!encodable) {
        frame.cancel();
        return makeError(Errc::InvalidArgument);
    }
    // The id is the relay's own or one it checked (isValidRequestId): a valid field value.
    frame.addOwn(kRequestIdField, id);
    return frame.finish(endStream);
}

}  // namespace nexus::server

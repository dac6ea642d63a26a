// SPDX-License-Identifier: AGPL-3.0-or-later
// Header fields of HTTP heads allocated from a per-connection arena. Beast's fields make one
// heap allocation per field (and more when a field is set or erased): for a small request that
// was the largest share of each end's allocations. An arena is reset between heads, so parsing
// a head costs no allocation at all once the arena has grown to the connection's usual heads.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/parser.hpp>

#include <array>
#include <cstddef>
#include <memory_resource>
#include <optional>
#include <tuple>
#include <utility>

namespace nexus::net {

using FieldAllocator = std::pmr::polymorphic_allocator<char>;
using Fields = boost::beast::http::basic_fields<FieldAllocator>;
template <class Body>
using RequestParser = boost::beast::http::parser<true, Body, FieldAllocator>;
template <class Body>
using ResponseParser = boost::beast::http::parser<false, Body, FieldAllocator>;

/// Memory for the fields of one head at a time. Not movable: parsers point into it.
class HeadArena {
public:
    HeadArena() = default;
    HeadArena(const HeadArena&) = delete;
    HeadArena& operator=(const HeadArena&) = delete;

    /// An allocator for the next head, after forgetting everything given out before: call it
    /// only once the previous head's fields are destroyed. Memory beyond the inline block (a
    /// head with large fields) is returned to the heap here, so an arena never keeps more than
    /// its largest recent head, and that is bounded by the parser's header limit.
    FieldAllocator fresh() {
        resource_.release();
        return FieldAllocator(&resource_);
    }

    /// Constructs a parser whose fields live in this arena (see fresh()).
    template <class Parser>
    Parser& emplace(std::optional<Parser>& parser) {
        parser.reset();
        return parser.emplace(std::piecewise_construct, std::make_tuple(),
                              std::make_tuple(fresh()));
    }

private:
    static constexpr std::size_t kInline = 2048;  ///< a typical head's fields fit
    alignas(std::max_align_t) std::array<std::byte, kInline> storage_{};
    std::pmr::monotonic_buffer_resource resource_{storage_.data(), storage_.size(),
                                                  std::pmr::new_delete_resource()};
};

}  // namespace nexus::net

// SPDX-License-Identifier: AGPL-3.0-or-later
// Test helper: the decoded message alternative, or a test failure saying what came instead.
#pragma once

#include "common/error.hpp"

#include <gtest/gtest.h>

#include <variant>

namespace nexus::testkit {

template <typename T, typename Variant>
T as(const Result<Variant>& decoded) {
    if (!decoded) {
        ADD_FAILURE() << "decode failed: " << decoded.error().message();
        return {};
    }
    const T* value = std::get_if<T>(&*decoded);
    if (value == nullptr) {
        ADD_FAILURE() << "decoded the wrong message type (index " << decoded->index() << ")";
        return {};
    }
    return *value;
}

}  // namespace nexus::testkit

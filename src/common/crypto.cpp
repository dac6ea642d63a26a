// SPDX-License-Identifier: AGPL-3.0-or-later
// OpenSSL-backed implementations of the helpers in crypto.hpp.
#include "common/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

namespace nexus::crypto {

Sha256Digest sha256(std::string_view data) {
    Sha256Digest out{};
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 failed");  // only if OpenSSL itself is broken
    }
    return out;
}

namespace {
void fillRandom(std::uint8_t* data, std::size_t size) {
    if (RAND_bytes(data, static_cast<int>(size)) != 1) {
        throw std::runtime_error("the system random generator failed");
    }
}
}  // namespace

std::string randomHex(std::size_t bytes) {
    std::vector<std::uint8_t> buffer(bytes);
    fillRandom(buffer.data(), buffer.size());
    return toHex(buffer.data(), buffer.size());
}

std::string uuidV4() {
    std::array<std::uint8_t, 16> b{};
    fillRandom(b.data(), b.size());
    b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    const std::string hex = toHex(b.data(), b.size());
    return hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4) + '-' +
           hex.substr(16, 4) + '-' + hex.substr(20);
}

std::string toHex(const std::uint8_t* data, std::size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(kDigits[data[i] >> 4]);
        out.push_back(kDigits[data[i] & 0x0f]);
    }
    return out;
}

bool constantTimeEqual(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string base64Encode(std::string_view data) {
    std::string out(base64EncodedSize(data.size()), '\0');
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                        reinterpret_cast<const unsigned char*>(data.data()),
                                        static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(written));
    return out;
}

namespace {
bool isBase64Char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}
}  // namespace

Result<std::string> base64Decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return makeError(Errc::InvalidBase64);
    }
    std::size_t padding = 0;
    if (!text.empty() && text.back() == '=') {
        padding = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
    }
    // EVP_DecodeBlock is lenient about whitespace and stray padding; check the alphabet first.
    for (std::size_t i = 0; i < text.size() - padding; ++i) {
        if (!isBase64Char(text[i])) {
            return makeError(Errc::InvalidBase64);
        }
    }
    // Canonical encodings only, as the deployed peers' decoder: the bits that padding
    // leaves unused in the last character must be zero ("QR==" is not "QQ==").
    if (padding > 0) {
        const char last = text[text.size() - padding - 1];
        const auto value = static_cast<unsigned>(
            std::string_view("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
                .find(last));
        if ((value & (padding == 2 ? 0x0fU : 0x03U)) != 0) {
            return makeError(Errc::InvalidBase64);
        }
    }
    std::string out(text.size() / 4 * 3, '\0');
    const int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                        reinterpret_cast<const unsigned char*>(text.data()),
                                        static_cast<int>(text.size()));
    if (written < 0) {
        return makeError(Errc::InvalidBase64);
    }
    out.resize(static_cast<std::size_t>(written) - padding);
    return out;
}

}  // namespace nexus::crypto

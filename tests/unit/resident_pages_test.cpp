// SPDX-License-Identifier: AGPL-3.0-or-later
// The resident page trimmer unmaps clean read-only file pages, and nothing that holds data of
// its own: a relocated (copied, then read-only) page keeps what was written to it.
#include "daemon/resident_pages.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace nexus {
namespace {

constexpr std::size_t kPages = 64;

class MappedFile : public ::testing::Test {
protected:
    void SetUp() override {
        char path[] = "/tmp/nexus-resident-XXXXXX";
        fd_ = ::mkstemp(path);
        ASSERT_GE(fd_, 0);
        ::unlink(path);
        page_ = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        const std::vector<char> content(kPages * page_, 'f');
        ASSERT_EQ(::write(fd_, content.data(), content.size()),
                  static_cast<ssize_t>(content.size()));
    }
    void TearDown() override { ::close(fd_); }

    // A private mapping of the file, each page read once; `copy` writes one byte into each
    // page first (as the dynamic loader relocates), then makes it read-only (RELRO).
    char* map(bool copy) {
        const int prot = copy ? PROT_READ | PROT_WRITE : PROT_READ;
        void* at = ::mmap(nullptr, kPages * page_, prot, MAP_PRIVATE, fd_, 0);
        EXPECT_NE(at, MAP_FAILED);
        auto* bytes = static_cast<char*>(at);
        volatile char sum = 0;
        for (std::size_t i = 0; i < kPages; ++i) {
            if (copy) {
                bytes[i * page_] = 'r';
            }
            sum = static_cast<char>(sum + bytes[i * page_ + 1]);
        }
        if (copy) {
            EXPECT_EQ(::mprotect(at, kPages * page_, PROT_READ), 0);
        }
        return bytes;
    }

    // The Rss line of the mapping at `bytes` in /proc/self/smaps, in KiB.
    static long residentKib(const char* bytes) {
        std::ifstream smaps("/proc/self/smaps");
        const auto start = reinterpret_cast<std::uintptr_t>(bytes);
        std::string line;
        bool ours = false;
        while (std::getline(smaps, line)) {
            unsigned long long from = 0;
            // Mapping lines start with a lowercase hex address, field lines with a capital.
            if (!line.empty() && std::isupper(static_cast<unsigned char>(line[0])) == 0 &&
                std::sscanf(line.c_str(), "%llx-", &from) == 1) {
                ours = from == start;
            } else if (ours && line.rfind("Rss:", 0) == 0) {
                return std::atol(line.c_str() + 4);
            }
        }
        return -1;
    }

    int fd_ = -1;
    std::size_t page_ = 0;
};

TEST_F(MappedFile, SecondLookUnmapsTheCleanPagesOfAReadOnlyFileMapping) {
    char* clean = map(false);
    ResidentPageTrimmer trimmer;
    EXPECT_EQ(trimmer.trim(), 0U) << "nothing goes at the first look";
    EXPECT_GE(residentKib(clean), static_cast<long>(kPages * page_ / 1024));
    const std::size_t advised = trimmer.trim();
    EXPECT_GE(advised, kPages * page_);
    EXPECT_EQ(residentKib(clean), 0);
    // Still readable, from the page cache, with the file's content.
    EXPECT_EQ(clean[5 * page_], 'f');
    ::munmap(clean, kPages * page_);
}

TEST_F(MappedFile, KeepsWhatWasWrittenIntoAPageMadeReadOnlyAfterwards) {
    char* relocated = map(true);
    ResidentPageTrimmer trimmer;
    trimmer.trim();
    trimmer.trim();
    for (std::size_t i = 0; i < kPages; ++i) {
        ASSERT_EQ(relocated[i * page_], 'r') << "page " << i << " lost its private copy";
    }
    ::munmap(relocated, kPages * page_);
}

TEST(ResidentFileBytes, CountsThisProcesssFileBackedPages) {
    // At least the test program's own text is resident.
    EXPECT_GT(residentFileBytes(), 0U);
}

}  // namespace
}  // namespace nexus

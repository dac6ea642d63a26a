// SPDX-License-Identifier: AGPL-3.0-or-later
// Tests for FileChanges: setup's writes land whole, with their mode, and a rollback leaves
// every file as it was.
#include "ctl/file_changes.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace nexus::ctl {
namespace {

namespace fs = std::filesystem;

class FileChangesTest : public ::testing::Test {
protected:
    void SetUp() override {
        char dir[] = "/tmp/file-changes-XXXXXX";
        ASSERT_NE(::mkdtemp(dir), nullptr);
        root_ = dir;
    }
    void TearDown() override { fs::remove_all(root_); }

    std::string path(const std::string& name) const { return root_ + "/" + name; }
    static std::string read(const std::string& file) {
        std::string error;
        return readSmallFile(file, error);
    }
    static void put(const std::string& file, const std::string& content) {
        std::ofstream(file) << content;
    }
    static unsigned modeOf(const std::string& file) {
        struct stat st {};
        ::stat(file.c_str(), &st);
        return st.st_mode & 07777;
    }
    // Everything in the root: no temporary or kept-aside file may be left.
    std::vector<std::string> listing() const {
        std::vector<std::string> names;
        for (const auto& entry : fs::recursive_directory_iterator(root_)) {
            names.push_back(entry.path().string().substr(root_.size()));
        }
        std::sort(names.begin(), names.end());
        return names;
    }

    std::string root_;
};

TEST_F(FileChangesTest, WritesWithTheModeAndCreatesTheDirectory) {
    FileChanges changes;
    EXPECT_EQ(changes.write(path("etc/token"), "secret\n", 0600), "");
    changes.commit();
    EXPECT_EQ(read(path("etc/token")), "secret\n");
    EXPECT_EQ(modeOf(path("etc/token")), 0600u);
    EXPECT_EQ(listing(), (std::vector<std::string>{"/etc", "/etc/token"}));
}

TEST_F(FileChangesTest, RollbackRestoresReplacedRemovedAndMovedFiles) {
    put(path("client.conf"), "old conf\n");
    put(path("old.service"), "old unit\n");
    put(path("updater"), "old updater\n");
    {
        FileChanges changes;
        EXPECT_EQ(changes.write(path("client.conf"), "new conf\n", 0644), "");
        EXPECT_EQ(changes.write(path("new/token"), "t\n", 0600), "");
        EXPECT_EQ(changes.remove(path("old.service")), "");
        EXPECT_EQ(changes.rename(path("updater"), path("updater.kept")), "");
        EXPECT_EQ(read(path("client.conf")), "new conf\n");
        // Destroyed without commit(): a failure half-way.
    }
    EXPECT_EQ(read(path("client.conf")), "old conf\n");
    EXPECT_EQ(read(path("old.service")), "old unit\n");
    EXPECT_EQ(read(path("updater")), "old updater\n");
    EXPECT_EQ(listing(), (std::vector<std::string>{"/client.conf", "/old.service", "/updater"}));
}

TEST_F(FileChangesTest, CommitDropsTheKeptCopies) {
    put(path("client.conf"), "old\n");
    put(path("old.service"), "unit\n");
    FileChanges changes;
    EXPECT_EQ(changes.write(path("client.conf"), "new\n", 0644), "");
    EXPECT_EQ(changes.remove(path("old.service")), "");
    changes.commit();
    EXPECT_EQ(listing(), (std::vector<std::string>{"/client.conf"}));
    EXPECT_EQ(read(path("client.conf")), "new\n");
}

TEST_F(FileChangesTest, AFailedWriteSaysWhichFileAndLeavesNothing) {
    ASSERT_EQ(::mkdir(path("ro").c_str(), 0555), 0);
    if (::access(path("ro").c_str(), W_OK) == 0) {
        GTEST_SKIP() << "root writes into a read-only directory";
    }
    FileChanges changes;
    const auto problem = changes.write(path("ro/token"), "t\n", 0600);
    EXPECT_EQ(problem.rfind("cannot write " + path("ro/token") + ": Permission denied", 0), 0u)
        << problem;
}

TEST_F(FileChangesTest, RenameRefusesToReplaceAFile) {
    put(path("a"), "a");
    put(path("b"), "b");
    FileChanges changes;
    EXPECT_NE(changes.rename(path("a"), path("b")), "");
    EXPECT_EQ(read(path("b")), "b");
}

}  // namespace
}  // namespace nexus::ctl

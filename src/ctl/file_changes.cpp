// SPDX-License-Identifier: AGPL-3.0-or-later
#include "ctl/file_changes.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

namespace nexus::ctl {

namespace {
std::string directoryOf(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

std::string failed(const char* what, const std::string& path) {
    return fmt::format("cannot {} {}: {}", what, path, std::strerror(errno));
}

// Writes all of `content` to `fd` and flushes it to the disk.
bool writeAll(int fd, const std::string& content) {
    std::size_t done = 0;
    while (done < content.size()) {
        const auto n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return ::fsync(fd) == 0;
}
}  // namespace

FileChanges::~FileChanges() {
    rollback();
}

std::string FileChanges::keepAside(const std::string& path, std::string& kept) {
    kept.clear();
    if (!exists(path)) {
        return {};
    }
    // A hard link keeps the old version while the new one is renamed over it: the path
    // never goes missing, and rollback is one rename back.
    kept = path + ".nexusctl-old";
    ::unlink(kept.c_str());
    if (::link(path.c_str(), kept.c_str()) != 0) {
        auto problem = failed("keep a copy of", path);
        kept.clear();
        return problem;
    }
    return {};
}

std::string FileChanges::write(const std::string& path, const std::string& content, mode_t mode) {
    const auto directory = directoryOf(path);
    if (!exists(directory)) {
        if (::mkdir(directory.c_str(), 0755) != 0) {
            return failed("create directory", directory);
        }
        createdDirectories_.push_back(directory);
    }
    std::string temp = path + ".nexusctl-XXXXXX";
    const int fd = ::mkstemp(temp.data());
    if (fd < 0) {
        return failed("write", path);
    }
    // mkstemp makes the file 0600 before anything is written: a secret is never readable
    // by others, not even for a moment.
    const bool written = ::fchmod(fd, mode) == 0 && writeAll(fd, content);
    const int writeErrno = errno;
    ::close(fd);
    if (!written) {
        ::unlink(temp.c_str());
        errno = writeErrno;
        return failed("write", path);
    }
    Change change{path, {}, {}};
    if (auto problem = keepAside(path, change.kept); !problem.empty()) {
        ::unlink(temp.c_str());
        return problem;
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        auto problem = failed("write", path);
        ::unlink(temp.c_str());
        if (!change.kept.empty()) {
            ::unlink(change.kept.c_str());
        }
        return problem;
    }
    changes_.push_back(std::move(change));
    return {};
}

std::string FileChanges::remove(const std::string& path) {
    if (!exists(path)) {
        return {};
    }
    std::string kept = path + ".nexusctl-old";
    ::unlink(kept.c_str());
    if (::rename(path.c_str(), kept.c_str()) != 0) {
        return failed("remove", path);
    }
    changes_.push_back({path, kept, {}});
    return {};
}

std::string FileChanges::rename(const std::string& from, const std::string& to) {
    if (exists(to)) {
        return fmt::format("cannot move {} to {}: the target exists", from, to);
    }
    if (::rename(from.c_str(), to.c_str()) != 0) {
        return failed("move", from);
    }
    changes_.push_back({from, {}, to});
    return {};
}

void FileChanges::commit() {
    for (const auto& change : changes_) {
        if (change.movedTo.empty() && !change.kept.empty()) {
            ::unlink(change.kept.c_str());
        }
    }
    changes_.clear();
    createdDirectories_.clear();
}

void FileChanges::rollback() {
    for (auto it = changes_.rbegin(); it != changes_.rend(); ++it) {
        if (!it->movedTo.empty()) {
            ::rename(it->movedTo.c_str(), it->path.c_str());
        } else if (!it->kept.empty()) {
            ::rename(it->kept.c_str(), it->path.c_str());
        } else {
            ::unlink(it->path.c_str());
        }
    }
    changes_.clear();
    for (auto it = createdDirectories_.rbegin(); it != createdDirectories_.rend(); ++it) {
        ::rmdir(it->c_str());
    }
    createdDirectories_.clear();
}

std::string readSmallFile(const std::string& path, std::string& error, std::size_t limit) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = failed("read", path);
        return {};
    }
    std::string content(limit + 1, '\0');
    in.read(content.data(), static_cast<std::streamsize>(content.size()));
    content.resize(static_cast<std::size_t>(in.gcount()));
    if (content.size() > limit) {
        error = fmt::format("cannot read {}: larger than {} bytes", path, limit);
        return {};
    }
    error.clear();
    return content;
}

}  // namespace nexus::ctl

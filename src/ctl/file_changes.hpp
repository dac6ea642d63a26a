// SPDX-License-Identifier: AGPL-3.0-or-later
// Changes to files made all or nothing: each write lands atomically (a temporary file in the
// same directory, fsync, rename), and what it replaced or removed is kept aside until
// commit(), so a failure half-way puts every file back as it was.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace nexus::ctl {

class FileChanges {
public:
    FileChanges() = default;
    FileChanges(const FileChanges&) = delete;
    FileChanges& operator=(const FileChanges&) = delete;
    /// Rolls back what was not committed.
    ~FileChanges();

    /// Writes `content` to `path` with `mode`, creating its directory (0755) if missing.
    /// An empty string on success, else one line saying what could not be written and why.
    std::string write(const std::string& path, const std::string& content, mode_t mode);
    /// Removes `path` (a file or symbolic link); a missing file is not an error.
    std::string remove(const std::string& path);
    /// Renames `from` to `to` (same file system), replacing nothing: `to` must not exist.
    std::string rename(const std::string& from, const std::string& to);

    /// Keeps the changes: drops the copies kept aside.
    void commit();
    /// Puts every changed file back as it was, last change first.
    void rollback();

private:
    struct Change {
        std::string path;     ///< the file changed
        std::string kept;     ///< its previous version, kept aside; empty if it did not exist
        std::string movedTo;  ///< for a rename: where it went
    };
    std::string keepAside(const std::string& path, std::string& kept);

    std::vector<Change> changes_;
    std::vector<std::string> createdDirectories_;
};

/// The content of `path` (at most `limit` bytes), or an error line in `error`.
std::string readSmallFile(const std::string& path, std::string& error, std::size_t limit = 1 << 20);

}  // namespace nexus::ctl

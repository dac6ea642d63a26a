// SPDX-License-Identifier: AGPL-3.0-or-later
// storeSlugAndToken: stage both files beside the originals, then rename them over; or the
// state file when they cannot be.
#include "daemon/slug_store.hpp"

#include "daemon/slug_state.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nexus {

namespace {

// "slug = x", "  slug=x", not "slugs = x" nor "# slug = x".
bool setsSlug(const std::string& line) {
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line.compare(start, 4, "slug") != 0) {
        return false;
    }
    const auto next = line.find_first_not_of(" \t", start + 4);
    return next != std::string::npos && line[next] == '=';
}

// A file written next to `path` with `content` and the mode of `path` (or 0600; always 0600
// with `secret`), ready to be renamed over it; removed again unless committed.
class StagedFile {
public:
    StagedFile(std::string path, const std::string& content, bool secret = false)
        : path_(std::move(path)) {
        struct stat existing {};
        const mode_t mode =
            !secret && ::stat(path_.c_str(), &existing) == 0 ? existing.st_mode & 07777 : 0600;
        std::string name = path_ + ".XXXXXX";
        const int fd = ::mkstemp(name.data());
        if (fd < 0) {
            problem_ = fmt::format("cannot write {}: {}", path_, std::strerror(errno));
            return;
        }
        temporary_ = name;
        std::size_t written = 0;
        while (written < content.size()) {
            const auto n = ::write(fd, content.data() + written, content.size() - written);
            if (n <= 0) {
                break;
            }
            written += static_cast<std::size_t>(n);
        }
        const bool complete =
            written == content.size() && ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
        const int saved = errno;
        ::close(fd);
        if (!complete) {
            problem_ = fmt::format("cannot write {}: {}", path_, std::strerror(saved));
        }
    }
    StagedFile(const StagedFile&) = delete;
    StagedFile& operator=(const StagedFile&) = delete;
    ~StagedFile() {
        if (!temporary_.empty()) {
            ::unlink(temporary_.c_str());
        }
    }

    const std::string& problem() const { return problem_; }

    std::string commit() {
        if (::rename(temporary_.c_str(), path_.c_str()) != 0) {
            return fmt::format("cannot replace {}: {}", path_, std::strerror(errno));
        }
        temporary_.clear();
        return {};
    }

private:
    std::string path_;
    std::string temporary_;
    std::string problem_;
};

std::optional<std::string> readWhole(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        return std::nullopt;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

}  // namespace

std::string withSlugLine(const std::string& text, const std::string& slug) {
    std::istringstream lines(text);
    std::string out;
    bool replaced = false;
    for (std::string line; std::getline(lines, line);) {
        if (setsSlug(line)) {
            line = "slug = " + slug;
            replaced = true;
        }
        out += line + '\n';
    }
    if (!replaced) {
        out += "slug = " + slug + '\n';
    }
    return out;
}

namespace {
std::string joined(const std::vector<std::string>& reasons) {
    std::string out;
    for (const auto& reason : reasons) {
        out += (out.empty() ? "" : "; ") + reason;
    }
    return out;
}

// Both into the agent's files; what could not be written (nothing then is), or nothing.
std::vector<std::string> storeInSources(const AgentSources& sources, const std::string& slug,
                                        const std::string& token) {
    std::vector<std::string> unsaved;
    std::vector<std::unique_ptr<StagedFile>> staged;
    const auto stage = [&](const std::string& path, const std::string& content) {
        auto file = std::make_unique<StagedFile>(path, content);
        if (!file->problem().empty()) {
            unsaved.push_back(file->problem());
        } else {
            staged.push_back(std::move(file));
        }
    };
    if (sources.configFile.empty()) {
        unsaved.emplace_back("the agent has no configuration file (--config)");
    } else if (sources.slugOnCommandLine) {
        unsaved.emplace_back("--slug on the agent's command line overrides its configuration file");
    } else if (const auto text = readWhole(sources.configFile)) {
        stage(sources.configFile, withSlugLine(*text, slug));
    } else {
        unsaved.push_back(
            fmt::format("cannot read {}: {}", sources.configFile, std::strerror(errno)));
    }
    if (!sources.tokenFile.empty()) {
        stage(sources.tokenFile, token + '\n');
    } else {
        unsaved.push_back(fmt::format("the token came from {}, which the agent cannot write",
                                      sources.tokenOrigin));
    }
    // Both or neither: a new slug with the old token (or the reverse) would not register.
    if (unsaved.empty()) {
        for (auto& file : staged) {
            if (auto problem = file->commit(); !problem.empty()) {
                unsaved.push_back(std::move(problem));
            }
        }
    }
    return unsaved;
}
}  // namespace

SlugStoring storeSlugAndToken(const AgentSources& sources, const std::string& slug,
                              const std::string& token) {
    std::vector<std::string> unsaved;
    // A state file in use would hide a change written to the configuration.
    if (!sources.fromStateFile) {
        unsaved = storeInSources(sources, slug, token);
        if (unsaved.empty()) {
            return {SlugStoring::Where::Sources, {}};
        }
    }
    if (!sources.stateFile.empty()) {
        StagedFile state(sources.stateFile, slugStateText({slug, token}), true);
        auto problem = state.problem().empty() ? state.commit() : state.problem();
        if (problem.empty()) {
            const auto why =
                unsaved.empty() ? std::string() : fmt::format(" ({})", joined(unsaved));
            return {SlugStoring::Where::StateFile,
                    fmt::format("slug and token stored in {}, used in place of the "
                                "configuration's from the next start{}; remove that file to go "
                                "back to the configuration",
                                sources.stateFile, why)};
        }
        unsaved.push_back(std::move(problem));
    }
    return {SlugStoring::Where::Nowhere,
            fmt::format("not stored ({}): set slug = {} and the new token where the agent "
                        "reads them, or it registers the previous slug at its next start",
                        joined(unsaved), slug)};
}

}  // namespace nexus

// SPDX-License-Identifier: AGPL-3.0-or-later
// One lazily made libpq connection that fails fast during an outage and reconnects by itself.
#pragma once

#include "common/error.hpp"
#include "directory/libpq.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nexus::directory {

struct PgResultClearer {
    void operator()(PGresult* result) const noexcept { libpq().clear(result); }
};
using PgResult = std::unique_ptr<PGresult, PgResultClearer>;

class PgConnection {
public:
    /// Loads libpq and parses `conninfo` (a postgres:// URL or key=value pairs) without
    /// connecting. ELIBACC if libpq cannot be loaded, Errc::InvalidArgument if it cannot
    /// parse `conninfo`.
    static Result<PgConnection> create(const std::string& conninfo);

    /// Runs one parameterised statement (parameters as text) and returns its successful
    /// result. Errc::SlugExists for a unique violation, Errc::InvalidArgument for a CHECK
    /// violation, Errc::DirectoryUnavailable for everything else, at once when the server
    /// cannot be reached. Connects first if needed, at most once per second.
    Result<PgResult> exec(const char* sql, const std::vector<std::string>& params);

    /// libpq's reason for the last DirectoryUnavailable (first line of its message).
    const std::string& lastError() const { return lastError_; }

private:
    struct ConnCloser {
        void operator()(PGconn* conn) const noexcept { libpq().finish(conn); }
    };
    using Conn = std::unique_ptr<PGconn, ConnCloser>;
    using Clock = std::chrono::steady_clock;

    PgConnection(std::vector<std::string> keys, std::vector<std::string> values)
        : keys_(std::move(keys)), values_(std::move(values)) {}

    Result<void> ensureConnected();
    bool stillAlive();
    Result<void> waitForInput(Clock::time_point deadline);
    ErrorCode dropConnection();
    ErrorCode fail(const char* libpqMessage);

    std::vector<std::string> keys_;    ///< connection keywords for PQconnectdbParams
    std::vector<std::string> values_;  ///< their values, same order
    Conn conn_;                        ///< null while disconnected
    std::optional<Clock::time_point> lastAttempt_;
    std::string lastError_;
};

}  // namespace nexus::directory

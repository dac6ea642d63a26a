// SPDX-License-Identifier: AGPL-3.0-or-later
// The libpq connection behind the PostgreSQL directory: lazy, bounded in time, self-healing.
#include "directory/postgres_connection.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace nexus::directory {
namespace {

// During an outage only one caller per second pays for a connection attempt; the others get
// DirectoryUnavailable at once instead of each waiting for the connect timeout.
constexpr auto kReconnectInterval = std::chrono::seconds(1);

// The server cancels a statement after 3 s (statement_timeout below); this client-side bound
// also covers a server or network that stopped answering altogether.
constexpr auto kQueryDeadline = std::chrono::milliseconds(4000);

// Applied unless the conninfo sets them: a dead address costs 3 s at most, and TCP notices a
// vanished peer (keepalives) or unacknowledged writes (tcp_user_timeout, ms) by itself.
constexpr std::pair<const char*, const char*> kDefaults[] = {
    {"connect_timeout", "3"},
    {"keepalives", "1"},
    {"keepalives_idle", "10"},
    {"keepalives_interval", "5"},
    {"keepalives_count", "3"},
    {"tcp_user_timeout", "10000"},
    {"application_name", "nexus-relay"},
};
constexpr std::string_view kStatementTimeout = "-c statement_timeout=3000";

ErrorCode unavailable() {
    return makeError(Errc::DirectoryUnavailable);
}

}  // namespace

Result<PgConnection> PgConnection::create(const std::string& conninfo) {
    if (auto loaded = loadLibpq(); !loaded) {
        return loaded.error();
    }
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(libpq().conninfoFree)> parsed(
        libpq().conninfoParse(conninfo.c_str(), &error), libpq().conninfoFree);
    if (!parsed) {
        libpq().freemem(error);  // the message may quote the conninfo, password included
        return makeError(Errc::InvalidArgument);
    }
    std::vector<std::string> keys;
    std::vector<std::string> values;
    std::string userOptions;
    for (const PQconninfoOption* option = parsed.get(); option->keyword != nullptr; ++option) {
        if (option->val == nullptr) {
            continue;  // unset: libpq falls back to the PG* environment variables as usual
        }
        if (std::strcmp(option->keyword, "options") == 0) {
            userOptions = option->val;
        } else {
            keys.emplace_back(option->keyword);
            values.emplace_back(option->val);
        }
    }
    for (const auto& [key, value] : kDefaults) {
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
            keys.emplace_back(key);
            values.emplace_back(value);
        }
    }
    // The operator's own -c settings come after ours, so theirs win.
    keys.emplace_back("options");
    values.push_back(std::string(kStatementTimeout) +
                     (userOptions.empty() ? "" : " " + userOptions));
    return PgConnection(std::move(keys), std::move(values));
}

Result<PgResult> PgConnection::exec(const char* sql, const std::vector<std::string>& params) {
    if (auto connected = ensureConnected(); !connected) {
        return connected.error();
    }
    std::vector<const char*> texts;
    texts.reserve(params.size());
    for (const std::string& param : params) {
        texts.push_back(param.c_str());
    }
    if (libpq().sendQueryParams(conn_.get(), sql, static_cast<int>(texts.size()), nullptr,
                                texts.data(), nullptr, nullptr, 0) != 1) {
        return dropConnection();
    }
    const auto deadline = Clock::now() + kQueryDeadline;
    PgResult result;
    for (;;) {  // one statement gives one result, but libpq wants them read until null
        if (auto ready = waitForInput(deadline); !ready) {
            return ready.error();
        }
        PgResult next(libpq().getResult(conn_.get()));
        if (!next) {
            break;
        }
        if (!result) {
            result = std::move(next);
        }
    }
    if (libpq().status(conn_.get()) != CONNECTION_OK) {
        return dropConnection();
    }
    if (!result) {
        return fail(libpq().errorMessage(conn_.get()));
    }
    const ExecStatusType status = libpq().resultStatus(result.get());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        return result;
    }
    const char* field = libpq().resultErrorField(result.get(), PG_DIAG_SQLSTATE);
    const std::string_view sqlstate = field != nullptr ? field : "";
    if (sqlstate == "23505") {  // unique_violation
        return makeError(Errc::SlugExists);
    }
    if (sqlstate == "23514") {  // check_violation, e.g. an unknown transport name
        return makeError(Errc::InvalidArgument);
    }
    // Includes 57014, the statement timeout: the session stays usable.
    return fail(libpq().resultErrorMessage(result.get()));
}

Result<void> PgConnection::ensureConnected() {
    if (conn_ && stillAlive()) {
        return {};
    }
    conn_.reset();
    const auto now = Clock::now();
    if (lastAttempt_ && now - *lastAttempt_ < kReconnectInterval) {
        return unavailable();
    }
    lastAttempt_ = now;
    std::vector<const char*> keys;
    std::vector<const char*> values;
    for (std::size_t i = 0; i < keys_.size(); ++i) {
        keys.push_back(keys_[i].c_str());
        values.push_back(values_[i].c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    Conn conn(libpq().connectdbParams(keys.data(), values.data(), 0));
    if (!conn || libpq().status(conn.get()) != CONNECTION_OK) {
        return fail(conn ? libpq().errorMessage(conn.get()) : "out of memory");
    }
    // libpq prints server notices to stderr by default; this library never logs.
    libpq().setNoticeProcessor(
        conn.get(), [](void*, const char*) {}, nullptr);
    conn_ = std::move(conn);
    return {};
}

bool PgConnection::stillAlive() {
    if (libpq().status(conn_.get()) != CONNECTION_OK) {
        return false;
    }
    // An idle session receives nothing, except the FATAL message and the close that follow a
    // server restart or pg_terminate_backend(). Noticing them here lets this very call
    // reconnect instead of failing on a connection that is already gone.
    pollfd fd{libpq().socket(conn_.get()), POLLIN | POLLRDHUP, 0};
    if (::poll(&fd, 1, 0) <= 0) {
        return true;
    }
    if ((fd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0) {
        return false;
    }
    return libpq().consumeInput(conn_.get()) == 1 && libpq().status(conn_.get()) == CONNECTION_OK;
}

Result<void> PgConnection::waitForInput(Clock::time_point deadline) {
    while (libpq().isBusy(conn_.get()) != 0) {
        const auto left =
            std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {  // the server or the network stopped answering
            conn_.reset();
            return fail("no answer from the server within 4 s");
        }
        pollfd fd{libpq().socket(conn_.get()), POLLIN, 0};
        const int ready = ::poll(&fd, 1, static_cast<int>(left));
        if (ready == 0 || (ready < 0 && errno == EINTR)) {
            continue;
        }
        if (ready < 0 || libpq().consumeInput(conn_.get()) != 1) {
            return dropConnection();
        }
    }
    return {};
}

ErrorCode PgConnection::dropConnection() {
    const ErrorCode error = fail(conn_ ? libpq().errorMessage(conn_.get()) : "");
    conn_.reset();
    return error;
}

ErrorCode PgConnection::fail(const char* libpqMessage) {
    // libpq's messages end with a newline and may go on with a hint ("Is the server
    // running...?"): the first line is the reason, and it never quotes the password.
    const std::string_view message = libpqMessage != nullptr ? libpqMessage : "";
    lastError_ = message.empty() ? "the connection to the server was lost"
                                 : message.substr(0, message.find('\n'));
    return unavailable();
}

}  // namespace nexus::directory

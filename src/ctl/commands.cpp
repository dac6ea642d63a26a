// SPDX-License-Identifier: AGPL-3.0-or-later
// The commands: calls through the proxies, output through output.hpp.
#include "ctl/commands.hpp"

#include "common/dbus_names.hpp"
#include "ctl/output.hpp"
#include "ctl/proxies.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

namespace nexus::ctl {

namespace {
using nlohmann::json;

template <typename T>
T value(const Properties& properties, const std::string& name) {
    const auto found = properties.find(name);
    return found == properties.end() ? T{} : found->second.get<T>();
}

json statusJson(const Properties& p) {
    json out = json::object();
    for (const auto* name : {"State", "Slug", "Server", "Door", "LastError"}) {
        out[name] = value<std::string>(p, name);
    }
    out["ProtocolVersion"] = value<std::uint32_t>(p, "ProtocolVersion");
    out["Encrypted"] = value<bool>(p, "Encrypted");
    for (const auto* name : {"ConnectedSince", "NextRetryIn", "RequestsForwarded", "BytesIn",
                             "BytesOut", "ActiveStreams"}) {
        out[name] = value<std::uint64_t>(p, name);
    }
    return out;
}

// "127.0.0.1:7443 over tls, protocol v2" or the server alone before the first connection.
std::string relayLine(const Properties& p) {
    auto server = value<std::string>(p, "Server");
    const auto door = value<std::string>(p, "Door");
    if (door.empty()) {
        return server;
    }
    const auto protocol = value<std::uint32_t>(p, "ProtocolVersion");
    return fmt::format("{} over {} ({}){}", server, door,
                       value<bool>(p, "Encrypted") ? "encrypted" : "plaintext",
                       protocol != 0 ? fmt::format(", protocol v{}", protocol) : "");
}

void printStatus(const Properties& p, const Style& style) {
    const auto state = value<std::string>(p, "State");
    const auto since = value<std::uint64_t>(p, "ConnectedSince");
    const auto retry = value<std::uint64_t>(p, "NextRetryIn");
    std::vector<std::pair<std::string, std::string>> rows{
        {"State", style.paint(state, stateColour(state))},
        {"Slug", orDash(value<std::string>(p, "Slug"))},
        {"Relay", relayLine(p)},
    };
    if (since != 0) {
        const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::system_clock::now().time_since_epoch());
        const auto up = static_cast<std::uint64_t>(now.count()) -
                        std::min(since, static_cast<std::uint64_t>(now.count()));
        rows.emplace_back("Connected since",
                          fmt::format("{} ({} ago)", formatTime(since), formatSpan(up)));
    }
    if (retry != 0) {
        rows.emplace_back("Next retry in", formatSpan(retry));
    }
    rows.emplace_back("Last error", orDash(value<std::string>(p, "LastError")));
    rows.emplace_back("Requests", fmt::format("{}", value<std::uint64_t>(p, "RequestsForwarded")));
    rows.emplace_back("Traffic",
                      fmt::format("{} in, {} out", formatBytes(value<std::uint64_t>(p, "BytesIn")),
                                  formatBytes(value<std::uint64_t>(p, "BytesOut"))));
    rows.emplace_back("Active streams",
                      fmt::format("{}", value<std::uint64_t>(p, "ActiveStreams")));
    printRows(stdout, rows);
}

// One entry of ListTunnels, a(ssssbtttt), by name.
struct Tunnel {
    std::string slug, address, door, protocol;
    bool encrypted = false;
    std::uint64_t since = 0, requests = 0, bytesIn = 0, bytesOut = 0;

    template <typename Entry>
    static Tunnel of(const Entry& e) {
        return {std::get<0>(e), std::get<1>(e), std::get<2>(e), std::get<3>(e), std::get<4>(e),
                std::get<5>(e), std::get<6>(e), std::get<7>(e), std::get<8>(e)};
    }
};

Properties clientProperties(const Options& options, sdbus::IConnection& bus) {
    Properties properties;
    translate(Daemon::Client, options.user, "status", [&] {
        ClientProxy proxy(bus);
        properties = proxy.all();
    });
    return properties;
}
}  // namespace

void status(const Options& options) {
    auto bus = connectBus(options.user);
    const auto properties = clientProperties(options, *bus);
    if (options.json) {
        fmt::print("{}\n", statusJson(properties).dump(2));
    } else {
        printStatus(properties, Style::detect(stdout));
    }
}

void watch(const Options& options) {
    auto bus = connectBus(options.user);
    const auto style = Style::detect(stdout);
    ClientProxy proxy(*bus);
    Properties initial;
    translate(Daemon::Client, options.user, "status", [&] { initial = proxy.all(); });
    proxy.onState([&](const std::string& state, const std::string& reason) {
        const auto now = std::chrono::system_clock::now();
        const auto micros = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count());
        if (options.json) {
            fmt::print("{}\n", json{{"Time", micros}, {"State", state}, {"Reason", reason}}.dump());
        } else {
            fmt::print("{}  {}{}\n", formatTime(micros), style.paint(state, stateColour(state)),
                       reason.empty() ? "" : "  " + reason);
        }
        std::fflush(stdout);
    });
    if (options.json) {
        fmt::print("{}\n", statusJson(initial).dump());
    } else {
        printStatus(initial, style);
        fmt::print("\n");
    }
    std::fflush(stdout);
    // The agent leaving the bus ends the watch: nothing would come any more.
    auto gone = bus->addMatch(
        fmt::format("type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',"
                    "arg0='{}'",
                    dbus_names::kClientBus),
        [&bus](sdbus::Message& message) {
            std::string name, before, after;
            message >> name >> before >> after;
            if (after.empty()) {
                bus->leaveEventLoop();
            }
        });
    bus->enterEventLoop();
    throw Failure(Exit::NotRunning, "nexus-relay-client left the bus (stopped)");
}

void reconnect(const Options& options) {
    auto bus = connectBus(options.user);
    translate(Daemon::Client, options.user, "reconnect", [&] {
        ClientProxy proxy(*bus);
        proxy.Reconnect();
    });
}

namespace {
// The token in `path`, without the newline (or spaces) around it.
std::string readToken(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw Failure(Exit::Usage,
                      fmt::format("cannot read token file {}: {}", path, std::strerror(errno)));
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string token = buffer.str();
    const auto first = token.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
        throw Failure(Exit::Usage, fmt::format("token file {} is empty", path));
    }
    return token.substr(first, token.find_last_not_of(" \t\r\n") - first + 1);
}
}  // namespace

void setSlug(const Options& options, const std::string& slug, const std::string& tokenFile) {
    const auto token = readToken(tokenFile);
    auto bus = connectBus(options.user);
    std::string note;
    translate(Daemon::Client, options.user, "set-slug", [&] {
        ClientProxy proxy(*bus);
        note = proxy.SetSlug(slug, token);
    });
    if (note.empty()) {
        fmt::print("Registered as {}; slug and token stored for the next start.\n", slug);
    } else {
        fmt::print("Registered as {}; {}.\n", slug, note);
    }
}

void tunnels(const Options& options) {
    auto bus = connectBus(options.user);
    std::vector<Tunnel> list;
    translate(Daemon::Server, options.user, "tunnels", [&] {
        ServerProxy proxy(*bus);
        const auto entries = proxy.ListTunnels();
        list.reserve(entries.size());
        for (const auto& entry : entries) {
            list.push_back(Tunnel::of(entry));
        }
    });
    if (options.json) {
        json out = json::array();
        for (const auto& t : list) {
            out.push_back(json{{"Slug", t.slug},
                               {"Address", t.address},
                               {"Door", t.door},
                               {"Protocol", t.protocol},
                               {"Encrypted", t.encrypted},
                               {"Since", t.since},
                               {"Requests", t.requests},
                               {"BytesIn", t.bytesIn},
                               {"BytesOut", t.bytesOut}});
        }
        fmt::print("{}\n", out.dump(2));
        return;
    }
    if (list.empty()) {
        fmt::print("No tunnels connected.\n");
        return;
    }
    std::vector<std::vector<std::string>> rows;
    rows.reserve(list.size());
    for (const auto& t : list) {
        rows.push_back({t.slug, t.address, t.door + (t.encrypted ? "" : " (plaintext)"), t.protocol,
                        formatTime(t.since), fmt::format("{}", t.requests), formatBytes(t.bytesIn),
                        formatBytes(t.bytesOut)});
    }
    printTable(stdout, Style::detect(stdout),
               {"SLUG", "ADDRESS", "DOOR", "PROTOCOL", "SINCE", "REQUESTS", "IN", "OUT"}, rows);
}

void disconnect(const Options& options, const std::string& slug) {
    auto bus = connectBus(options.user);
    translate(Daemon::Server, options.user, "disconnect", [&] {
        ServerProxy proxy(*bus);
        proxy.DisconnectTunnel(slug);
    });
}

void revoke(const Options& options, const std::string& slug) {
    auto bus = connectBus(options.user);
    translate(Daemon::Server, options.user, "revoke", [&] {
        ServerProxy proxy(*bus);
        proxy.RevokeSlug(slug);
    });
}

}  // namespace nexus::ctl

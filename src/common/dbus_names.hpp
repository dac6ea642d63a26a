// SPDX-License-Identifier: AGPL-3.0-or-later
// The names of the D-Bus control plane (dbus/*.xml), shared by the daemons' objects and
// nexusctl: versioned ("Relay1"), so a second version can live beside the first.
#pragma once

namespace nexus::dbus_names {

inline constexpr const char* kClientBus = "app.nexusnode.Relay1.Client";
inline constexpr const char* kClientPath = "/app/nexusnode/Relay1/Client";
inline constexpr const char* kServerBus = "app.nexusnode.Relay1.Server";
inline constexpr const char* kServerPath = "/app/nexusnode/Relay1/Server";

// Errors the methods answer with, besides the bus's own (AccessDenied, ServiceUnknown).
inline constexpr const char* kNoSuchTunnel = "app.nexusnode.Relay1.Error.NoSuchTunnel";
inline constexpr const char* kSlugNotFound = "app.nexusnode.Relay1.Error.SlugNotFound";
inline constexpr const char* kDirectoryUnavailable =
    "app.nexusnode.Relay1.Error.DirectoryUnavailable";
inline constexpr const char* kInvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
inline constexpr const char* kInvalidSlug = "app.nexusnode.Relay1.Error.InvalidSlug";
inline constexpr const char* kTokenRefused = "app.nexusnode.Relay1.Error.TokenRefused";
inline constexpr const char* kSlugTaken = "app.nexusnode.Relay1.Error.SlugTaken";
inline constexpr const char* kFailed = "app.nexusnode.Relay1.Error.Failed";

}  // namespace nexus::dbus_names

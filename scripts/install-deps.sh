#!/usr/bin/env bash
# Installs the Debian 12 packages Nexus Relay needs to build and test, only those missing.
set -euo pipefail

packages=(
  build-essential meson ninja-build pkg-config git
  libboost1.81-dev libssl-dev nlohmann-json3-dev libfmt-dev libcli11-dev
  libmimalloc-dev libsqlite3-dev libpq-dev libsystemd-dev libsdbus-c++-dev libsdbus-c++-bin libcurl4-openssl-dev
  libgtest-dev libgmock-dev googletest
  postgresql python3 python3-websockets curl clang-format clang-tidy openssl
  chromium  # tests/integration/test_browser.py: a real browser through the relay
  iproute2  # tests/integration/test_send_queue.py: tc and ss in a private network namespace
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing: ${missing[*]}" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2

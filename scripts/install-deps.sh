#!/usr/bin/env bash
# Installs the Debian 12 packages Nexus Relay needs, only those missing.
#   scripts/install-deps.sh          everything the build and every test suite need
#   scripts/install-deps.sh --demo   only what building the binary and running the demo need
set -euo pipefail

# The binary: a compiler, the build tools, the libraries it links, and the demo's site and check.
demo_packages=(
  g++ meson ninja-build pkg-config
  libboost1.81-dev libssl-dev nlohmann-json3-dev libfmt-dev libcli11-dev
  libmimalloc-dev libsqlite3-dev libpq-dev
  libsdbus-c++-dev libsdbus-c++-bin  # the daemons' D-Bus objects and nexusctl
  libcurl4-openssl-dev  # nexusctl setup: HTTPS to the directory and the relay
  python3 curl
)
test_packages=(
  build-essential git
  libsystemd-dev
  dbus       # tests/dbus: a private dbus-daemon with the project's policy (busctl: systemd)
  libgtest-dev libgmock-dev googletest
  postgresql python3-websockets clang-format clang-tidy openssl
  systemd    # systemd-analyze: the README's unit is checked as written
  chromium   # tests/integration/test_browser.py: a real browser through the relay
  iproute2   # tests/integration/test_send_queue.py: tc and ss in a private network namespace
  prometheus # promtool: the status pages' /metrics checked by Prometheus' own parser
  debootstrap systemd-container # tests/systemd/test_nspawn_boot.py: a Debian root booted by
                                # systemd-nspawn, the units run by the real systemd
  debhelper dpkg-dev fakeroot lintian # tests/package: dpkg-buildpackage, then lintian, on the
                                      # Debian packages installed in that container
  caddy      # tests/integration/test_caddy_front.py, test_setup.py: Debian's Caddy in front
             # of the relay, with its internal CA
)

packages=("${demo_packages[@]}")
[ "${1:-}" = "--demo" ] || packages+=("${test_packages[@]}")

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
# The caddy package starts its own server on port 80 where systemd runs; the tests start theirs.
if [[ " ${missing[*]} " == *" caddy "* ]] && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now caddy.service >&2 || true
fi

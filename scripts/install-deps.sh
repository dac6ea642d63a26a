#!/usr/bin/env bash
# Installs the Debian 12 packages Nexus Relay needs, only those missing.
#   scripts/install-deps.sh          everything the build and every test suite need
#   scripts/install-deps.sh --demo   only what building the binary and running the demo need
#   scripts/install-deps.sh --cross  what the arm64 cross build and its packages need
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

# The cross suite (tests/cross) and `dpkg-buildpackage -a arm64`: the cross compiler, qemu to
# run the aarch64 programs, and the libraries' :arm64 multiarch packages beside the amd64 ones
# (the header-only and architecture-independent ones above serve both, and libpq-dev, which
# cannot be installed for two architectures at once: its headers serve the dlopen()ed libpq).
# Build tools such as sdbus-c++-xml2cpp stay the machine's own.
cross_packages=(
  crossbuild-essential-arm64 qemu-user-static pkgconf:arm64
  libboost1.81-dev:arm64 libssl-dev:arm64 libfmt-dev:arm64 libmimalloc-dev:arm64
  libsqlite3-dev:arm64 libsystemd-dev:arm64 libsdbus-c++-dev:arm64
  libcurl4-openssl-dev:arm64 libgtest-dev:arm64 libgmock-dev:arm64
)

case "${1:-}" in
  --demo) packages=("${demo_packages[@]}") ;;
  --cross) packages=("${demo_packages[@]}" debhelper dpkg-dev fakeroot "${cross_packages[@]}") ;;
  *) packages=("${demo_packages[@]}" "${test_packages[@]}" "${cross_packages[@]}") ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing: ${missing[*]}" >&2
# apt knows :arm64 packages once dpkg accepts the architecture (the update below fetches
# their lists).
if [[ " ${missing[*]}" == *:arm64* ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $sudo dpkg --add-architecture arm64
fi
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
# The caddy package starts its own server on port 80 where systemd runs; the tests start theirs.
if [[ " ${missing[*]} " == *" caddy "* ]] && [ -d /run/systemd/system ]; then
  $sudo systemctl disable --now caddy.service >&2 || true
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Makes, once, the Debian 12 root that test_nspawn_boot.py and tests/package boot with
# systemd-nspawn: a minimal system (debootstrap's minbase) with systemd, D-Bus, Python (the
# local site the agent forwards to), curl (the package suite's autopkgtest), ca-certificates
# (the system's CAs, as the packages recommend; the package suite adds Caddy's CA to them) and
# the Debian packages of the shared libraries BINARY links. The root is kept and reused while that
# package list is the same; the tests never write into it (they boot it with
# --volatile=overlay). About 40 s and 300 MB the first time, with a near mirror.
#
# Usage: make-nspawn-root.sh ROOT BINARY [MIRROR]
set -euo pipefail

root=$1
binary=$2
mirror=${3:-${NEXUS_DEBIAN_MIRROR:-http://deb.debian.org/debian}}

# The package of each library the binary loads, as the host (Debian 12 too) has it installed:
# one dpkg-query for all (each call reads the whole database), under either spelling of the
# path, since with the merged /usr dpkg may know /lib/... or /usr/lib/....
mapfile -t libraries < <(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }')
mapfile -t resolved < <(realpath "${libraries[@]}")
owners=$(dpkg-query -S "${libraries[@]}" "${resolved[@]}" 2>/dev/null || true)
packages=(systemd dbus python3 curl ca-certificates)
for library in "${libraries[@]}"; do
    owner=$(grep -m1 -e ": $library\$" -e ": $(realpath "$library")\$" <<<"$owners") || {
        echo "no Debian package holds $library" >&2
        exit 1
    }
    packages+=("${owner%%:*}")
done
wanted=$(printf '%s\n' "${packages[@]}" | sort -u | paste -sd, -)

# One maker at a time; a second caller waits and then finds the root made.
mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9

stamp="$root/.nexus-packages"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    exit 0
fi

rm -rf "$root" "$root.new"
echo "debootstrap bookworm (minbase) with $wanted into $root" >&2
start=$(date +%s)
if ! debootstrap --variant=minbase --include="$wanted" bookworm "$root.new" "$mirror" \
        >"$root.log" 2>&1; then
    tail -20 "$root.log" >&2
    rm -rf "$root.new"
    exit 1
fi
echo "$wanted" >"$root.new/.nexus-packages"
mv "$root.new" "$root"
echo "root made in $(($(date +%s) - start)) s" >&2

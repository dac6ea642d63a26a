#!/usr/bin/env bash
# Install what bench/run.sh needs: Debian's nginx, wrk, openssh-server, pagekite and
# python3-matplotlib, then bore and rathole from crates.io (low priority, one job, 10 minutes
# each at most). A tool that fails to install is reported and the benchmark skips it.
#
#   bench/install-peers.sh            # cargo installs into ~/.cargo (or $BENCH_TOOLS_DIR)
set -uo pipefail

SUDO=""
((EUID == 0)) || SUDO=sudo
pkgs=()
command -v nginx >/dev/null || pkgs+=(nginx-light)
command -v wrk >/dev/null || pkgs+=(wrk)
[[ -x /usr/sbin/sshd ]] || pkgs+=(openssh-server)
command -v pagekite >/dev/null || pkgs+=(pagekite)
/usr/bin/python3 -c 'import matplotlib' 2>/dev/null || pkgs+=(python3-matplotlib)
command -v curl >/dev/null || pkgs+=(curl)
command -v openssl >/dev/null || pkgs+=(openssl)
if ((${#pkgs[@]})); then
    echo "apt: ${pkgs[*]}"
    # Debian's policy-rc.d convention: do not start nginx/sshd system services on install.
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive nice -n 19 apt-get install -y -q "${pkgs[@]}" \
        || echo "apt-get install failed: the benchmark skips what is missing"
fi

root=${BENCH_TOOLS_DIR:-$HOME/.cargo}
if command -v cargo >/dev/null; then
    have() { command -v "$1" >/dev/null || [[ -x $HOME/.cargo/bin/$1 || -x $root/bin/$1 ]]; }
    have bore || timeout 600 nice -n 19 cargo install -j1 --root "$root" bore-cli \
        || echo "bore-cli failed to install within 10 minutes"
    # Only the TCP transport: no native-tls/noise, which would pull OpenSSL headers and more.
    have rathole || timeout 600 nice -n 19 cargo install -j1 --root "$root" rathole \
        --no-default-features --features server,client \
        || echo "rathole failed to install within 10 minutes"
else
    echo "no cargo: bore and rathole are skipped"
fi

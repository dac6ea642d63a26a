#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Fails (listing file:line) when a module under src/ includes a header it must not depend on.
#
# The dependency direction is the one in docs/design: common, protocol -> net, directory ->
# server, client -> dbus -> daemon -> cli -> main, sd on common alone, and ctl (nexusctl, a
# program of its own) on common and the generated D-Bus proxies alone; only sd/, dbus/, ctl/
# and the top-level entry points touch libsystemd or sdbus-c++. Keeping protocol/ free of Asio is what lets the codecs be fuzzed without I/O.
set -euo pipefail

root=${1:-"$(dirname "$0")/.."}
cd "$root/src"

# forbidden MODULE FILE: the include prefixes FILE (a path under src/) may not use.
# Project headers are included with quotes ("net/frame.hpp"); library headers with <...>.
forbidden() {
    local module=$1 file=$2
    local upper='"sd/ "daemon/ "cli/ "dbus/ "ctl/'
    case $module in
        common) echo "\"protocol/ \"net/ \"directory/ \"server/ \"client/ <boost/asio $upper" ;;
        protocol) echo "\"net/ \"directory/ \"server/ \"client/ <boost/asio $upper" ;;
        net) echo "\"directory/ \"server/ \"client/ $upper" ;;
        directory) echo "\"net/ \"server/ \"client/ <boost/asio $upper" ;;
        server) echo "\"client/ $upper" ;;
        client) echo "\"server/ \"directory/ $upper" ;;
        # libsystemd glue for the daemon layer: common alone, so any daemon can use it.
        sd) echo '"protocol/ "net/ "directory/ "server/ "client/ "daemon/ "cli/ "dbus/ "ctl/' ;;
        # D-Bus objects translate the agent's and the relay's state: below the daemons that
        # wire them, and never the proxies (nexusctl's side of the generated glue).
        dbus) echo '"sd/ "daemon/ "cli/ "ctl/ "relay1_client_proxy "relay1_server_proxy' ;;
        # nexusctl reaches the daemons through the bus only: no library of theirs, no adaptor.
        ctl) echo '"protocol/ "net/ "directory/ "server/ "client/ "sd/ "daemon/ "cli/ "dbus/ <boost/asio "relay1_client_adaptor "relay1_server_adaptor' ;;
        # The daemons wire the libraries; the command line sits above them.
        daemon) echo '"cli/ "ctl/' ;;
    esac
    # systemd and D-Bus stay in the daemon layer, so libraries run anywhere (tests, containers).
    case $file in
        sd/* | dbus/* | ctl/*) ;;
        */*) echo '<systemd/ <sdbus-c++/' ;;
        *.cpp) ;;
        *) echo '<systemd/ <sdbus-c++/' ;;
    esac
}

violations=0
while IFS= read -r file; do
    file=${file#./}
    case $file in
        */*) module=${file%%/*} ;;
        *) module=top-level ;;
    esac
    rules=$(forbidden "$module" "$file")
    [ -n "$rules" ] || continue
    lineno=0
    while IFS= read -r line; do
        lineno=$((lineno + 1))
        [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*([\"\<])([^\"\>]+) ]] || continue
        open=${BASH_REMATCH[1]}
        target=${BASH_REMATCH[2]}
        # "../net/x.hpp" and "src/net/x.hpp" name the same module as "net/x.hpp".
        while [[ $target == ./* || $target == ../* ]]; do
            target=${target#*/}
        done
        target=${target#src/}
        for rule in $rules; do
            if [[ "$open$target" == "$rule"* ]]; then
                close='>'
                [ "$open" = '"' ] && close='"'
                echo "src/$file:$lineno: $module code must not include $open$target$close"
                violations=$((violations + 1))
            fi
        done
    done <"$file"
done < <(find . -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) | sort)

if [ "$violations" -gt 0 ]; then
    echo "$violations layering violation(s); see the dependency rules in tools/check-layering.sh" >&2
    exit 1
fi
echo "layering OK"

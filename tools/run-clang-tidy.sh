#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Runs clang-tidy (checks in .clang-tidy) over our sources with the build's compile commands;
# fails when it reports anything in our code. The `clang-tidy` test of the lint suite runs it.
#
# Usage: tools/run-clang-tidy.sh [BUILD_DIR] [FILE...]
#   BUILD_DIR defaults to build/ (it needs compile_commands.json, which Meson always writes).
#   Without FILEs, every .cpp under src/ and tests/ that is in the compilation database.
# One clang-tidy at a time unless JOBS is set (JOBS=auto: one per core); a full run takes
# several minutes on two cores.
# Exits 77 (Meson's "skipped") when clang-tidy is missing.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build=${1:-"$root/build"}
[ $# -gt 0 ] && shift
jobs=${JOBS:-1}
[ "$jobs" = auto ] && jobs=$(nproc)

if [ ! -f "$build/compile_commands.json" ]; then
    echo "no $build/compile_commands.json: configure with meson setup first" >&2
    exit 2
fi
command -v clang-tidy >/dev/null || { echo "clang-tidy not found" >&2; exit 77; }

if [ $# -gt 0 ]; then
    files=("$@")
else
    # Only files the build compiles: headers are checked through them (HeaderFilterRegex).
    mapfile -t files < <(python3 - "$build/compile_commands.json" "$root" <<'PY'
import json, os, sys
entries = json.load(open(sys.argv[1]))
root = sys.argv[2]
seen = set()
for e in entries:
    path = os.path.normpath(os.path.join(e["directory"], e["file"]))
    rel = os.path.relpath(path, root)
    if rel.startswith(("src/", "tests/")) and rel.endswith(".cpp") and path not in seen:
        seen.add(path)
        print(path)
PY
)
fi

# GCC-only flags in the database would make clang error out before any check runs.
# Every finding counts as an error, so any one makes its clang-tidy, and then xargs, fail.
# sed drops the "N warnings generated." line each file prints for the headers not ours.
if ! printf '%s\n' "${files[@]}" | xargs -P "$jobs" -n 1 \
    clang-tidy -p "$build" --quiet --warnings-as-errors='*' \
    --extra-arg=-Wno-unknown-warning-option --extra-arg=-Wno-unused-command-line-argument 2>&1 |
    sed -u -E '/^[0-9]+ warnings? generated\.$/d'; then
    echo "clang-tidy failed: findings or errors above (${#files[@]} files)" >&2
    exit 1
fi
echo "clang-tidy OK (${#files[@]} files)"

#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# Fails when a C++ source would be changed by clang-format (style in .clang-format).
#
# Usage: tools/check-format.sh [SOURCE_ROOT]. Lists the files to fix; fix them with
#   clang-format -i FILE...
# Exits 77 (Meson's "skipped") when clang-format or git is missing, e.g. in a tarball build.
set -euo pipefail

root=${1:-"$(dirname "$0")/.."}
cd "$root"

command -v clang-format >/dev/null || { echo "clang-format not found" >&2; exit 77; }
git rev-parse --git-dir >/dev/null 2>&1 || { echo "not a git checkout" >&2; exit 77; }

# Tracked files plus new ones not yet added (not ignored), so a new file is checked before its
# first commit; files deleted from the work tree but still in the index are skipped.
mapfile -t files < <(git ls-files --cached --others --exclude-standard \
    'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' | sort -u)

bad=()
for file in "${files[@]}"; do
    [ -f "$file" ] || continue
    if ! clang-format --dry-run --Werror "$file" >/dev/null 2>&1; then
        bad+=("$file")
    fi
done

if [ "${#bad[@]}" -gt 0 ]; then
    printf '%s\n' "${bad[@]}"
    echo "${#bad[@]} file(s) not formatted; run: clang-format -i FILE... (or --dry-run to see why)" >&2
    exit 1
fi
echo "format OK (${#files[@]} files)"

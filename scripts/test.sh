#!/usr/bin/env bash
# Runs every test suite: installs what is missing, builds, starts PostgreSQL for the
# directory tests, runs `meson test`, and prints "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

if [ -z "${NEXUS_TEST_DATABASE_URL:-}" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  NEXUS_TEST_DATABASE_URL="$($sudo tests/testkit/start-postgres.sh)"
  export NEXUS_TEST_DATABASE_URL
fi

status=0
meson test -C build --print-errorlogs --num-processes 2 "$@" || status=$?

# One closing line any CI can read, computed from meson's own log.
/usr/bin/python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    result = json.loads(line)["result"]
    if result in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif result == "SKIP":
        skipped += 1
    else:
        failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status

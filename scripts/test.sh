#!/usr/bin/env bash
# Installs what is missing, builds, starts a private throwaway PostgreSQL cluster under
# var/pg-test (port 55433, fsync off: it is the server under test that gets killed, not it)
# and runs the whole test suite with ctest.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
# playwright-core for the browser tests (tests/browser/package.json; no browser download: they use
# Debian's /usr/bin/chromium). Quick when already installed.
[ -d "$root/tests/browser/node_modules/playwright-core" ] ||
  (cd "$root/tests/browser" && npm install --no-audit --no-fund --silent)
pgdir="$root/var/pg-test"
"$root/scripts/pg.sh" start "$pgdir" 55433 fsync=off full_page_writes=off synchronous_commit=off
trap '"$root/scripts/pg.sh" stop "$pgdir"' EXIT
export MEDIASPOOL_TEST_DB_URL=$("$root/scripts/pg.sh" url "$pgdir" 55433)
export MEDIASPOOL_BIN="$root/build/src/mediaspool"
cd "$root/build"
ctest --output-on-failure -j2 --timeout 600 "$@"

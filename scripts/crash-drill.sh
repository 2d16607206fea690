#!/usr/bin/env bash
# The long kill -9 drill (issue 6): the crash tests of the suite, with many more cycles.
#   scripts/crash-drill.sh [random-cycles] [cycles-per-named-point]     (default 200 and 70)
# Random kills: 4 sessions streaming, SIGKILL after a random number of further acks, restart,
# resume. Named points: the server kills itself after the spool's fsync before the ack, after
# the files before their rows, and inside a PostgreSQL transaction. After all cycles, every
# acked item must be one file with its exact bytes and one JSONB element (expected-state
# oracle). Uses its own PostgreSQL cluster under var/pg-drill (port 55436).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
[ -x "$root/build/tests/crash_tests" ] || (cd "$root/build" && cmake --build . -j2 --target crash_tests mediaspool)
pgdir="$root/var/pg-drill"
"$root/scripts/pg.sh" start "$pgdir" 55436 fsync=off full_page_writes=off synchronous_commit=off
trap '"$root/scripts/pg.sh" stop "$pgdir"' EXIT
export MEDIASPOOL_TEST_DB_URL=$("$root/scripts/pg.sh" url "$pgdir" 55436)
export MEDIASPOOL_BIN="$root/build/src/mediaspool"
export MEDIASPOOL_CRASH_CYCLES=${1:-200}
export MEDIASPOOL_CRASH_POINT_CYCLES=${2:-70}
start=$(date +%s)
set +e
"$root/build/tests/crash_tests" -s 2>&1 | grep -E "MESSAGE|cycle .*killed|ERROR|FATAL|test cases|assertions|Status" |
  grep -v "^\s*$" | tail -n 400
rc=${PIPESTATUS[0]}
set -e
echo "crash drill: ${MEDIASPOOL_CRASH_CYCLES} random + 3 x ${MEDIASPOOL_CRASH_POINT_CYCLES} named-point cycles in $(( $(date +%s) - start )) s, exit $rc"
exit "$rc"

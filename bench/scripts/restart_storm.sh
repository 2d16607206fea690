#!/usr/bin/env bash
# The restart storm: N real-time sessions record; the server is killed with SIGKILL after
# KILL_AFTER seconds and restarted at once on the same port; every recorder (loadgen) reconnects
# and resumes. Prints loadgen's summary (session_init_ack covers both the first inits and the
# resumes) and, every 3 s from /metrics (3 s limit), the lateness of the media loop and the
# server-side init latency (sum and count since the start of that process).
#
#   bench/scripts/restart_storm.sh [SESSIONS [KILL_AFTER [DURATION]]]   (defaults 3000 50 90)
#   EXTRA="--db.loaders=4" bench/scripts/restart_storm.sh               extra server flags
#
# Uses the benchmark's PostgreSQL cluster (var/pg-bench, port 55435) and build/; writes under
# /tmp/mediaspool-storm. Only the processes it starts are stopped, by their PIDs.
set -euo pipefail
N=${1:-3000}; KILL_AFTER=${2:-50}; DURATION=${3:-90}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
WORK=/tmp/mediaspool-storm; RAW=$WORK/raw; PGDIR=$ROOT/var/pg-bench; PGPORT=55435; PGDB=bench
mkdir -p "$WORK" "$RAW"
. "$ROOT/bench/scripts/lib.sh"
pg_running || pg_start
server_start storm --asr.enabled=false ${EXTRA:-}
PORT=$SERVER_PORT
URL=ws://127.0.0.1:$PORT/ws/media-stream
log "server $SERVER_PID on port $PORT; $N sessions, killed after ${KILL_AFTER}s"
( for _ in $(seq 1 $(((DURATION + 30) / 3))); do
    echo "$(date +%T) $(curl -s -m 3 "127.0.0.1:$PORT/metrics" | grep -E '^mediaspool_(io_loop_lag_microseconds|sessions|session_init_seconds_(sum|count)) ' | tr '\n' ' ')"
    sleep 3
  done ) >"$WORK/metrics.log" 2>&1 &
SAMPLER=$!
"$BUILD/bench/loadgen" --sessions "$N" --threads 1 --mode realtime --ramp-up 10 --duration "$DURATION" \
  --drain-timeout 10 --url "$URL" --json "$WORK/loadgen.json" >"$WORK/loadgen.log" 2>&1 &
LOADGEN=$!
sleep "$KILL_AFTER"
log "kill -9 $SERVER_PID"
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
LAUNCH_PORT=$PORT server_launch --asr.enabled=false ${EXTRA:-}
log "restarted: $SERVER_PID, ready after ${SERVER_READY_S}s"
wait "$LOADGEN" || true
kill "$SAMPLER" 2>/dev/null || true
server_stop
cat "$WORK/loadgen.log"
echo "--- media loop lateness (us) and sessions, every 3 s:"
cat "$WORK/metrics.log"

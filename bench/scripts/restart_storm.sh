#!/usr/bin/env bash
# The restart storm: N real-time sessions record; the server is killed with SIGKILL after
# KILL_AFTER seconds and restarted at once on the same port; every recorder (loadgen) reconnects
# and resumes. Prints loadgen's summary (session_init_ack covers both the first inits and the
# resumes) and, every 3 s from /metrics (3 s limit), the lateness of the media loop and the
# server-side init latency (sum and count since the start of that process).
#
#   bench/scripts/restart_storm.sh [SESSIONS [KILL_AFTER [DURATION]]]   (defaults 3000 50 90)
#   EXTRA="--db.loaders=4" bench/scripts/restart_storm.sh               extra server flags
#   AGE=1080 bench/scripts/restart_storm.sh 1000 30 90                  sessions aged to 30 min
#       (1,080 warm-up items of 1 KiB each first; KILL_AFTER then counts from the measured phase)
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
AGE=${AGE:-0}
AGE_FLAGS=(); WARMUP_S=0
if [ "$AGE" -gt 0 ]; then
  AGE_FLAGS=(--warmup "$AGE" --warmup-payload-size 1024 --warmup-window 8 --progress on)
  WARMUP_S=3600
fi
( for _ in $(seq 1 $(((DURATION + 30 + WARMUP_S) / 3))); do
    echo "$(date +%T) $(curl -s -m 3 "127.0.0.1:$PORT/metrics" | grep -E '^mediaspool_(io_loop_lag_microseconds|sessions|session_init_seconds_(sum|count)) ' | tr '\n' ' ')"
    sleep 3
  done ) >"$WORK/metrics.log" 2>&1 &
SAMPLER=$!
"$BUILD/bench/loadgen" --sessions "$N" --threads 1 --mode realtime --ramp-up 10 --duration "$DURATION" \
  --drain-timeout 10 --url "$URL" --json "$WORK/loadgen.json" "${AGE_FLAGS[@]}" >"$WORK/loadgen.log" 2>"$WORK/progress.log" &
LOADGEN=$!
if [ "$AGE" -gt 0 ]; then # the warm-up's end: the progress line turns "live" (bounded wait)
  for _ in $(seq 1 "$WARMUP_S"); do grep -q "live" "$WORK/progress.log" 2>/dev/null && break; sleep 1; done
  log "warm-up done: $(tr '\r' '\n' <"$WORK/progress.log" | grep warmup | tail -n1)"
fi
sleep "$KILL_AFTER"
log "kill -9 $SERVER_PID"
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
LAUNCH_PORT=$PORT server_launch --asr.enabled=false ${EXTRA:-}
log "restarted: $SERVER_PID, ready after ${SERVER_READY_S}s"
wait "$LOADGEN" || true
kill "$SAMPLER" 2>/dev/null || true
server_stop
tr '\r' '\n' <"$WORK/progress.log" | grep -v '^\[' || true # loadgen's messages, without the progress lines
cat "$WORK/loadgen.log"
echo "--- media loop lateness (us) and sessions, every 3 s:"
cat "$WORK/metrics.log"

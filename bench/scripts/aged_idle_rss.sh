#!/usr/bin/env bash
# Memory of idle sessions that have recorded for a while, next to fresh ones (figure 6 measures
# fresh sessions only). N sessions record AGE items each (1 KiB, at max pace); the server is
# restarted; then the same N sessions resume and stay idle, and RSS is read once every one of them
# has its session_init_ack; then the server is restarted again and N new sessions do the same.
#
#   bench/scripts/aged_idle_rss.sh [SESSIONS [AGE]]      (defaults 1000 1080: 30 minutes)
#
# Uses the benchmark's PostgreSQL cluster (var/pg-bench, port 55435) and build/; media under
# DATA (default /dev/shm/mediaspool-aged-rss), the rest under /tmp/mediaspool-aged-rss. Only the
# processes it starts are stopped, by their PIDs.
set -euo pipefail
N=${1:-1000}; AGE=${2:-1080}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
WORK=/tmp/mediaspool-aged-rss; RAW=$WORK/raw; PGDIR=$ROOT/var/pg-bench; PGPORT=55435
DATA=${DATA:-/dev/shm/mediaspool-aged-rss}
mkdir -p "$WORK" "$RAW" "$DATA"
. "$ROOT/bench/scripts/lib.sh"
ulimit -n 65536 2>/dev/null || true
url() { echo "ws://127.0.0.1:$SERVER_PORT/ws/media-stream"; }
inits() { grep -c 'session#.* with .* ranges held' "$SERVER_DIR/server.log" || true; }
pg_running || pg_start
server_start aged --asr.enabled=false
trap 'server_stop' EXIT
log "server $SERVER_PID: $N sessions record $AGE items each"
"$BUILD/bench/loadgen" --progress off --url "$(url)" --sessions "$N" --ramp-up 1 --run-id 4242 --mode max \
  --warmup "$AGE" --warmup-payload-size 1024 --warmup-window 8 --items 1 --payload-size 1024 >"$RAW/age.txt" 2>&1
grep -E '^(ready|measured|missing)' "$RAW/age.txt" >&2
# idle RUN_ID: sets BASE and RSS (kB) of a restarted server, before and once N sessions of that
# run are in and idle, and IN (their inits). Not in a subshell: it replaces the server.
idle() {
  server_stop; server_launch --asr.enabled=false
  BASE=$(rss_kb "$SERVER_PID")
  local before; before=$(inits)
  "$BUILD/bench/loadgen" --progress off --url "$(url)" --sessions "$N" --ramp-up 1 --run-id "$1" --mode realtime \
    --audio-interval 3600 --frame-interval 0 --threads 2 --init-timeout 60 --duration 600 >"$RAW/idle-$1.txt" 2>&1 &
  local lg=$! k
  for ((k = 0; k < 1500; k++)); do [ "$(inits)" -ge $((before + N)) ] && break; sleep 0.2; done
  sleep 3
  RSS=$(rss_kb "$SERVER_PID")
  IN=$(($(inits) - before))
  kill -INT "$lg" 2>/dev/null || true
  wait "$lg" 2>/dev/null || true
}
idle 4242; b1=$BASE r1=$RSS n1=$IN
idle 777; b2=$BASE r2=$RSS n2=$IN
printf '%-34s %8s %8s %8s %10s\n' "idle sessions" "inits" "base kB" "RSS kB" "KB/session"
printf '%-34s %8s %8s %8s %10.1f\n' "$N resumed, $AGE items each" "$n1" "$b1" "$r1" "$(echo "($r1 - $b1) / $N" | bc -l)"
printf '%-34s %8s %8s %8s %10.1f\n' "$N fresh" "$n2" "$b2" "$r2" "$(echo "($r2 - $b2) / $N" | bc -l)"
server_stop
rm -rf "$DATA" "$SERVER_SPOOL"

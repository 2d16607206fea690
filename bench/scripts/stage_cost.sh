#!/usr/bin/env bash
# Server CPU per durable item, split by thread (the threads are named: ms.spool, ms.file-writer,
# ...), at figure 1's or 2's load: 50 sessions at max pace with window 4, RUNS runs of DURATION
# seconds, each on a fresh server. Throughput on this VM varies ±15 % from run to run; CPU per item per
# stage varies far less, so this is the number to compare before and after a change to a stage.
#
#   bench/scripts/stage_cost.sh [PAYLOAD_BYTES [RUNS [DURATION]]]   (defaults 1024 3 10;
#                                                                     PAYLOAD_BYTES 0 = default mix)
#   EXTRA="--media.file-writers=1" bench/scripts/stage_cost.sh    (server flags to compare)
#
# Uses the benchmark's PostgreSQL cluster (var/pg-bench, port 55435; started if stopped, and then
# stopped again) and build/; media under DATA (default /dev/shm: tmpfs, so the disk's writeback is
# not in the numbers), the rest under /tmp/mediaspool-stage-cost. Only the processes and folders
# it starts or makes are stopped or removed, the processes by their PIDs.
set -euo pipefail
PAYLOAD=${1:-1024}; RUNS=${2:-3}; DUR=${3:-10}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
WORK=/tmp/mediaspool-stage-cost; RAW=$WORK/raw; PGDIR=$ROOT/var/pg-bench; PGPORT=55435
DATA=${DATA:-/dev/shm}
. "$ROOT/bench/scripts/lib.sh"
DISK=$(disk_dev "$ROOT")
rm -rf "$RAW"; mkdir -p "$WORK" "$RAW" "$DATA"
pg_start   # remembers whether it was running (cleanup stops it only if it was not)
trap 'cleanup' EXIT
trap 'exit 130' INT TERM
flags=(--sessions 50 --mode max --window 4 --duration "$DUR")
[ "$PAYLOAD" = 0 ] || flags+=(--payload-size "$PAYLOAD")
# Each run on a fresh server, spool and media folder: a run of the default mix leaves ~2 GB of
# files, and tmpfs filling up with them slows the next runs' file writers several times over.
for ((r = 1; r <= RUNS; r++)); do
  # shellcheck disable=SC2086 # EXTRA is a list of flags
  server_start stage --asr.enabled=false ${EXTRA:-}
  lg_run "$SERVER_PID" "$RAW/run$r" --url "ws://127.0.0.1:$SERVER_PORT/ws/media-stream" --run-id "$((1000 + r))" "${flags[@]}" ||
    log "run $r: loadgen exit $? ($RAW/run$r.txt)"
  server_stop
  server_discard
  [ -s "$RAW/run$r.json" ] || { log "run $r: no result"; exit 1; }
done
# Per run: items/s, then µs of CPU per item for each thread name (cores / items per second).
for ((r = 1; r <= RUNS; r++)); do
  ips=$(jq -r '.result.items_per_s' "$RAW/run$r.json")
  awk -v ips="$ips" -v r="$r" '{ printf "%s %s %.1f\n", r, $2, $1 * 1e6 / ips }' "$RAW/run$r.threads"
  printf '%s items/s %.0f\n' "$r" "$ips"
  printf '%s server-total %.1f\n' "$r" "$(jq -r '.host_stats.target_cpu_cores * 1e6 / .result.items_per_s' "$RAW/run$r.json")"
done >"$RAW/all"
printf '%-22s' "CPU us per item"; for ((r = 1; r <= RUNS; r++)); do printf '%10s' "run $r"; done; printf '%10s\n' median
for name in items/s server-total $(awk '$2 != "items/s" && $2 != "server-total" { print $2 }' "$RAW/all" | sort -u); do
  printf '%-22s' "$name"
  for ((r = 1; r <= RUNS; r++)); do printf '%10s' "$(awk -v r="$r" -v n="$name" '$1 == r && $2 == n { print $3 }' "$RAW/all")"; done
  printf '%10s\n' "$(awk -v n="$name" '$2 == n { print $3 }' "$RAW/all" | median)"
done

# Helpers for bench/scripts/report.sh (sourced, not run). Every process started here is
# remembered by PID and stopped by that PID; nothing listens beyond 127.0.0.1.
# Expects ROOT, BUILD, WORK, RAW, PGDIR, PGPORT to be set by the caller.

PGDB=bench
SERVER_PID=""; SERVER_PORT=""; SERVER_DIR=""
SINK_PID=""; SINK_PORT=""
PG_INITIAL=""

log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

pgbin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1; }

# psql against the bench database (or another one given as $2).
pgq() { PGOPTIONS="-c client_min_messages=warning" runuser -u postgres -- "$(pgbin)/psql" -h "$PGDIR/sock" -p "$PGPORT" -U postgres -d "${2:-$PGDB}" -qtAXc "$1"; }

pg_running() { runuser -u postgres -- "$(pgbin)/pg_ctl" -D "$PGDIR/data" status >/dev/null 2>&1; }

# fsync stays ON (the default): this is a benchmark of durability.
pg_start() {
  [ -n "${PG_INITIAL:-}" ] || { pg_running && PG_INITIAL=running || PG_INITIAL=stopped; }
  "$ROOT/scripts/pg.sh" start "$PGDIR" "$PGPORT" >/dev/null
}
pg_stop() { "$ROOT/scripts/pg.sh" stop "$PGDIR"; }
pg_url() { "$ROOT/scripts/pg.sh" url "$PGDIR" "$PGPORT" "$PGDB"; }

# A fresh, empty database for each server: row counts and WAL are then the run's own.
pg_fresh_db() {
  pgq "DROP DATABASE IF EXISTS $PGDB WITH (FORCE)" postgres
  pgq "CREATE DATABASE $PGDB" postgres
}

pg_lsn() { pgq "SELECT pg_current_wal_insert_lsn()"; }
pg_lsn_diff() { pgq "SELECT pg_wal_lsn_diff('$1', '$2')::bigint"; }
pg_rows() { pgq "SELECT count(*) FROM media_items" 2>/dev/null || echo 0; }

wait_file() { # file timeout_s
  local i
  for ((i = 0; i < $2 * 50; i++)); do [ -s "$1" ] && return 0; sleep 0.02; done
  return 1
}

# server_start NAME [extra server flags...]: a fresh spool, media root and database.
server_start() {
  local name=$1; shift
  SERVER_DIR=${DATA:-$WORK}/server-$name   # media root, log, port file
  SERVER_SPOOL=$WORK/spool-$name            # the spool (few, large files) on the real filesystem
  rm -rf "$SERVER_DIR" "$SERVER_SPOOL"; mkdir -p "$SERVER_DIR"
  pg_fresh_db
  server_launch "$@"
}

# Starts the server on SERVER_DIR as it is (used again after a kill -9). Sets SERVER_PID,
# SERVER_PORT and SERVER_READY_S (start to port file written). LAUNCH_PORT: a fixed port (default: any).
# SERVER_PRELOAD: a library LD_PRELOADed into the server only (e.g. another allocator to compare).
server_launch() {
  rm -f "$SERVER_DIR/port"
  local t0; t0=$(date +%s.%N)
  ${SERVER_PRELOAD:+env LD_PRELOAD="$SERVER_PRELOAD"} "$BUILD/src/mediaspool" --server.host=127.0.0.1 --server.port="${LAUNCH_PORT:-0}" --server.port-file="$SERVER_DIR/port" \
    --spool.path="$SERVER_SPOOL" --media.root="$SERVER_DIR/media" --db.url="$(pg_url)" \
    --server.log-level=info "$@" >>"$SERVER_DIR/server.log" 2>&1 &
  SERVER_PID=$!
  if ! wait_file "$SERVER_DIR/port" 120; then
    log "server did not start; see $SERVER_DIR/server.log"; tail -n 20 "$SERVER_DIR/server.log" >&2; return 1
  fi
  SERVER_READY_S=$(echo "$(date +%s.%N) - $t0" | bc -l)
  SERVER_PORT=$(cat "$SERVER_DIR/port")
}

server_stop() {
  [ -n "$SERVER_PID" ] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    local i # a stop takes at most the 10 s drain + 5 s for a call that never returns
    for ((i = 0; i < 250; i++)); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SERVER_PID" 2>/dev/null && { log "server $SERVER_PID did not stop: kill -9"; kill -9 "$SERVER_PID" 2>/dev/null || true; }
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# Removes the server's files (media runs to gigabytes) but keeps its log, gzipped, in RAW.
server_discard() {
  [ -n "$SERVER_DIR" ] && [ -d "$SERVER_DIR" ] || return 0
  gzip -c "$SERVER_DIR/server.log" >"$RAW/$(basename "$SERVER_DIR").log.gz" 2>/dev/null || true
  # The spool's RocksDB log: its flushes and compactions, with times, for the same purpose.
  local rlog; rlog=$(find "$SERVER_SPOOL" -maxdepth 2 -name LOG 2>/dev/null | head -n 1)
  [ -z "$rlog" ] || gzip -c "$rlog" >"$RAW/$(basename "$SERVER_DIR").rocksdb.log.gz" 2>/dev/null || true
  rm -rf "$SERVER_DIR" "$SERVER_SPOOL"
  # The loop filesystem is mounted without online discard, so freed blocks stay allocated in its
  # sparse image: without a trim the image grows by every byte the suite writes (58 GB by
  # figure 7, which filled this disk once). One trim after the (synced) deletes gives them back.
  if [ -n "${LOOP_DEV:-}" ]; then
    sync -f "$DATA" 2>/dev/null || sync
    fstrim "$DATA" 2>/dev/null || log "fstrim $DATA failed: the loop image keeps the deleted runs' blocks"
  fi
}

sink_start() {
  rm -f "$WORK/sink.port"
  "$BUILD/bench/sink" --host 127.0.0.1 --port 0 --port-file "$WORK/sink.port" >>"$WORK/sink.log" 2>&1 &
  SINK_PID=$!
  wait_file "$WORK/sink.port" 30 || { log "sink did not start"; return 1; }
  SINK_PORT=$(cat "$WORK/sink.port")
}

sink_stop() {
  [ -n "$SINK_PID" ] || return 0
  kill -TERM "$SINK_PID" 2>/dev/null || true
  wait "$SINK_PID" 2>/dev/null || true
  SINK_PID=""
}

cleanup() {
  set +e
  [ -n "${LG_PID:-}" ] && kill -TERM "$LG_PID" 2>/dev/null
  server_stop
  server_discard
  sink_stop
  if [ "$PG_INITIAL" = stopped ] && [ "${KEEP_PG:-0}" != 1 ]; then pg_stop; fi
  if [ -n "${LOOP_DEV:-}" ]; then
    umount "$WORK/data" 2>/dev/null || { sleep 1; umount -l "$WORK/data"; }
    losetup -d "$LOOP_DEV" 2>/dev/null
    rm -f "$LOOP_IMG"
  fi
  rm -rf "$WORK"
}

# -- measuring -------------------------------------------------------------------------

cpu_ticks() { # pid -> utime+stime in clock ticks (0 if gone)
  awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
disk_dev() { # the block device holding $1
  local src; src=$(df --output=source "$1" | tail -n1)
  basename "$src"
}
disk_sectors_written() { awk -v d="$DISK" '$3 == d { print $10 }' /proc/diskstats; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# measured_window IO_FILE START_UNIX SECONDS HZ: from lg_run's once-a-second counters (wall time,
# disk sectors written, target and loadgen CPU ticks), the rates between the first sample at or
# after START and the last at or before START + SECONDS, as JSON; null when fewer than two
# samples fall in the window (a run shorter than 2 s, or loadgen without measure_started_unix).
measured_window() {
  awk -v s="$2" -v d="$3" -v hz="$4" '
    s > 0 && $1 >= s && $1 <= s + d { if (!n++) { t0 = $1; d0 = $2; c0 = $3; l0 = $4 } t1 = $1; d1 = $2; c1 = $3; l1 = $4 }
    END {
      if (n < 2 || t1 <= t0) { print "null"; exit }
      w = t1 - t0
      printf "{\"wall_s\": %.3f, \"disk_write_mb_s\": %.3f, \"target_cpu_cores\": %.4f, \"loadgen_cpu_cores\": %.4f}\n",
             w, (d1 - d0) * 512 / 1e6 / w, (c1 - c0) / hz / w, (l1 - l0) / hz / w
    }' "$1" 2>/dev/null || echo null
}

# lg_run TARGET_PID OUT_BASE loadgen-flags... : runs the load generator against SERVER/SINK and
# writes OUT_BASE.json (loadgen's result plus a "host_stats" object: CPU cores used by the
# target and by loadgen, disk write MB/s, load average) and OUT_BASE.txt (its summary).
# Returns loadgen's exit status (3 = acks missing) but never aborts the script.
lg_run() {
  local target=$1 out=$2; shift 2
  local hz; hz=$(getconf CLK_TCK)
  local t0 c0 s0 r0
  t0=$(date +%s.%N); c0=$(cpu_ticks "$target"); s0=$(disk_sectors_written)
  thread_snapshot "$target" >"$out.thr0"
  local st0; st0=$(head -n1 /proc/stat)
  printf 'loadgen %s\n' "$*" | sed -E 's#ws://127.0.0.1:[0-9]+#ws://127.0.0.1:PORT#' >"$out.cmd"
  "$BUILD/bench/loadgen" --progress off --json "$out.lg.json" "$@" >"$out.txt" 2>&1 &
  LG_PID=$!
  # The machine second by second (run queue, I/O wait, blocks written), timestamped, to set
  # against loadgen's latency_by_second when a run's p99 stands out.
  vmstat -n -t 1 >"$out.vmstat" 2>/dev/null &
  local vm_pid=$!
  # Sample loadgen's CPU time until it exits (a zombie keeps its times until reaped). Once a
  # second the sample also goes to $out.io with the wall time, the disk and the target's CPU, so
  # host_stats.measured can cover loadgen's measured window alone (measure_started_unix).
  local lgc=0 st tick=0
  : >"$out.io"
  while st=$(awk '{ print $3 }' "/proc/$LG_PID/stat" 2>/dev/null) && [ -n "$st" ]; do
    [ "$st" = Z ] && break   # a zombie's stat may already read 0: keep the last live sample
    lgc=$(cpu_ticks "$LG_PID")
    ((tick++ % 5)) || printf '%s %s %s %s\n' "$(date +%s.%N)" "$(disk_sectors_written)" "$(cpu_ticks "$target")" "$lgc" >>"$out.io"
    sleep 0.2
  done
  local t1 c1 s1
  t1=$(date +%s.%N); c1=$(cpu_ticks "$target"); s1=$(disk_sectors_written)
  thread_snapshot "$target" >"$out.thr1"
  local st1; st1=$(head -n1 /proc/stat)
  local rc=0
  wait "$LG_PID" || rc=$?
  LG_PID=""
  kill "$vm_pid" 2>/dev/null || true; wait "$vm_pid" 2>/dev/null || true
  local wall; wall=$(echo "$t1 - $t0" | bc -l)
  local lg_delta; lg_delta=$(echo "$lgc / $hz" | bc -l)
  if [ -s "$out.lg.json" ]; then
    jq --argjson wall "$wall" --argjson tc "$(echo "($c1 - $c0) / $hz" | bc -l)" \
       --argjson lc "$lg_delta" --argjson mb "$(echo "($s1 - $s0) * 512 / 1000000" | bc -l)" \
       --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --argjson rc "$rc" \
       --argjson cpu "$(cpu_split "$st0" "$st1")" \
       --argjson measured "$(measured_window "$out.io" "$(jq -r '.result.measure_started_unix // 0' "$out.lg.json")" \
                              "$(jq -r '.result.measure_s // 0' "$out.lg.json")" "$hz")" \
       '. + {host_stats: {wall_s: $wall, target_cpu_cores: ($tc / $wall), loadgen_cpu_cores: ($lc / $wall), machine: $cpu,
                          disk_write_mb_s: ($mb / $wall), disk_write_mb: $mb, loadavg: $load, exit: $rc,
                          measured: $measured}}' \
       "$out.lg.json" >"$out.json"
    rm -f "$out.lg.json" "$out.io"
    thread_split "$out.thr0" "$out.thr1" "$wall" >"$out.threads"
    rm -f "$out.thr0" "$out.thr1"
  else
    log "loadgen wrote no JSON ($out.txt):"; tail -n 5 "$out.txt" >&2
  fi
  return $rc
}

# Machine-wide split between two "cpu ..." lines of /proc/stat, in cores: busy (user, nice,
# system, irq, softirq, steal), iowait, idle.
cpu_split() {
  printf '%s\n%s\n' "$1" "$2" | awk -v n="$(nproc)" '
    { u[NR] = $2 + $3; s[NR] = $4 + $7 + $8 + $9; i[NR] = $5; w[NR] = $6 }
    END { du = u[2] - u[1]; ds = s[2] - s[1]; di = i[2] - i[1]; dw = w[2] - w[1]; t = du + ds + di + dw; if (t <= 0) t = 1
          printf "{\"user_cores\": %.3f, \"system_cores\": %.3f, \"iowait_cores\": %.3f, \"idle_cores\": %.3f}\n", n * du / t, n * ds / t, n * dw / t, n * di / t }'
}

# "tid comm ticks" per thread of a process.
thread_snapshot() {
  local t
  for t in /proc/"$1"/task/*; do
    [ -r "$t/stat" ] || continue
    printf '%s %s %s\n' "${t##*/}" "$(tr ' ' _ <"$t/comm" 2>/dev/null)" "$(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null)"
  done 2>/dev/null
}
# CPU cores per thread name between two snapshots, busiest first.
thread_split() {
  local hz; hz=$(getconf CLK_TCK)
  awk -v hz="$hz" -v wall="$3" 'NR == FNR { a[$1] = $3; next }
    { d = $3 - ($1 in a ? a[$1] : 0); c[$2] += d; n[$2]++ }
    END { for (k in c) if (c[k] > 0) printf "%.3f %s x%d\n", c[k] / hz / wall, k, n[k] }' "$1" "$2" | sort -rg
}

# median of the numbers on stdin (one per line); empty input prints "nan".
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# jmed FILTER FILES... : the median over FILES of a jq number filter.
jmed() { local f=$1; shift; for x in "$@"; do [ -s "$x" ] && jq -r "$f // empty" "$x"; done | median; }

# Picks the run whose items/s is the median one (for whole-distribution outputs like the CDF).
median_file() {
  for x in "$@"; do [ -s "$x" ] && printf '%s %s\n' "$(jq -r '.result.items_per_s' "$x")" "$x"; done |
    sort -g | awk '{ a[NR] = $2 } END { if (NR) print a[int((NR + 1) / 2)] }'
}

fmt() { # printf format, value ("nan" stays "n/a")
  case "$2" in nan | "" | null) echo "n/a" ;; *) LC_ALL=C printf "$1" "$2" ;; esac
}

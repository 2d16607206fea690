#!/usr/bin/env bash
# The benchmark report: runs a fixed suite on this machine and writes bench/results/REPORT.md,
# PNG plots and the raw loadgen JSON (bench/results/raw/).
#
#   bench/scripts/report.sh [--quick] [--runs N] [--only 1,2,3,5,6,7,8] [--no-profile]
#
#   --quick        one run per figure, shorter phases (~5 minutes); default: 3 runs (~40 minutes)
#   --runs N       runs per figure (each figure reports the median)
#   --only LIST    only these figures (4 comes with 1; 10 is transcription; 11 open arrivals)
#   --no-profile   skip the perf profile of the server under the figure-1 load
#   --out DIR      where REPORT.md, the PNGs and raw/ go (default bench/results); replaced only
#                  when the suite finishes
#   --no-loop      put the media files straight on /tmp's filesystem instead of a
#                  loop-mounted ext4 (see DATA below)
#   F7_CASES="SESSIONS:WARMUP:SECONDS[:WARMUP_BYTES] ..."  (environment) figure 7's real-time cases instead of
#                  the defaults, e.g. F7_CASES="1000:100:60" bench/scripts/report.sh --only 7
#   F7_RUNS=N      (environment) runs of each figure-7 case (default: --runs; they are long)
#   F7_SETTLE=S    (environment) loadgen --settle for figure 7 (default 600; 0 measures while the
#                  server still writes the warm-up's backlog, i.e. real-time acks during a drain)
#   F11_CASE="RATE:SESSIONS:SECONDS"  (environment) figure 11's open arrivals instead of the default
#   F11_TIME_LIMIT=S  (environment) figure 11: stop taking sessions S seconds after the first arrival (default 360)
#
# Needs build/src/mediaspool, build/bench/loadgen and build/bench/sink (built here with -j1 if
# missing), PostgreSQL 15 and root (the private cluster runs as 'postgres'). Installs gnuplot-nox
# and jq if missing. Everything listens on 127.0.0.1 only; every process it starts is stopped
# by its PID. The PostgreSQL cluster is var/pg-bench on port 55435, fsync ON.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
OUT_FINAL=$ROOT/bench/results
PGDIR=$ROOT/var/pg-bench
PGPORT=55435

QUICK=0; RUNS=""; ONLY="1,2,3,5,6,7,8,10,11"; PROFILE=1; USE_LOOP=1
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --runs) RUNS=$2; shift ;;
    --runs=*) RUNS=${1#*=} ;;
    --only) ONLY=$2; shift ;;
    --only=*) ONLY=${1#*=} ;;
    --no-profile) PROFILE=0 ;;
    --no-loop) USE_LOOP=0 ;;
    --out) OUT_FINAL=$2; shift ;;
    --out=*) OUT_FINAL=${1#*=} ;;
    -h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "report.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }
# Figures 1-8 measure ingest: transcription would only try (and fail) to decode the loadgen's
# random audio bytes, on the same 2 cores. It is measured on real speech in figure 10.
INGEST_ARGS=(--asr.enabled=false)

if [ "$QUICK" = 1 ]; then
  RUNS=${RUNS:-1}; DUR=5
  F3_SESSIONS="10 50 200 1000"
  F6_LEVELS="0 100 1000 5000 10000"
  F7_CASES=${F7_CASES:-"2000:5:20"}          # sessions:warmup items:measured seconds
  F7_RUNS=${F7_RUNS:-1}
  F11_CASE=${F11_CASE:-"50:1500:20"}         # arrivals/s:sessions:recording seconds
else
  RUNS=${RUNS:-3}; DUR=10
  F3_SESSIONS="10 50 200 1000"
  F6_LEVELS="0 100 1000 5000 10000"
  F7_CASES=${F7_CASES:-"1000:100:60 1000:1080:60:1024 10000:10:60"}
  F7_RUNS=${F7_RUNS:-$RUNS}
fi

[ "$(id -u)" = 0 ] || { echo "report.sh: run as root (the private PostgreSQL runs as postgres)" >&2; exit 1; }

# -- tools and binaries -------------------------------------------------------------------
need_pkgs=()
command -v gnuplot >/dev/null || need_pkgs+=(gnuplot-nox)
command -v jq >/dev/null || need_pkgs+=(jq)
command -v bc >/dev/null || need_pkgs+=(bc)
command -v ss >/dev/null || need_pkgs+=(iproute2)
command -v curl >/dev/null || need_pkgs+=(curl)
command -v vmstat >/dev/null || need_pkgs+=(procps)
command -v flite >/dev/null || need_pkgs+=(flite)
command -v ffmpeg >/dev/null || need_pkgs+=(ffmpeg)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "report.sh: installing ${need_pkgs[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${need_pkgs[@]}" >/dev/null ||
    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${need_pkgs[@]}" >/dev/null; }
fi
# Other people may be relinking these right now: wait a little for a missing binary first.
for ((k = 0; k < 60; k++)); do
  [ -x "$BUILD/src/mediaspool" ] && [ -x "$BUILD/bench/loadgen" ] && [ -x "$BUILD/bench/sink" ] && [ -x "$BUILD/bench/asr_bench" ] && break
  sleep 2
done
missing=()
[ -x "$BUILD/src/mediaspool" ] || missing+=(mediaspool)
[ -x "$BUILD/bench/loadgen" ] || missing+=(loadgen)
[ -x "$BUILD/bench/sink" ] || missing+=(sink)
[ -x "$BUILD/bench/asr_bench" ] || missing+=(asr_bench)
if [ ${#missing[@]} -gt 0 ]; then
  [ -f "$BUILD/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j1 --target "${missing[@]}"
fi

# 10,000 sessions need 10,000 descriptors in the server and as many in loadgen (+ files, RocksDB).
NOFILE=65536
ulimit -Hn "$NOFILE" 2>/dev/null || true
ulimit -n "$NOFILE" 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d /tmp/msbench.XXXXXX)
chmod 755 "$WORK"
# shellcheck source=lib.sh
source "$ROOT/bench/scripts/lib.sh"
trap cleanup EXIT
# Run copies of the binaries, so a rebuild in the shared tree cannot pull one away mid-suite.
mkdir -p "$WORK/bin/src" "$WORK/bin/bench"
cp "$BUILD/src/mediaspool" "$WORK/bin/src/"; cp "$BUILD/bench/loadgen" "$BUILD/bench/sink" "$BUILD/bench/asr_bench" "$WORK/bin/bench/"
BIN_STAMP=$(stat -c '%y' "$BUILD/src/mediaspool" | cut -d. -f1)
BUILD=$WORK/bin
trap 'exit 130' INT TERM
DISK=$(disk_dev "$WORK")

# DATA holds every server's media root (the spools stay in WORK, on the real filesystem). This machine's root filesystem is mounted with
# online discard, which makes each unlink wait ~2.5 ms: deleting one run's media (up to hundreds
# of thousands of files) would take longer than the suite. So by default the data lives on a
# fresh ext4 in a loop device with direct I/O (fsync and flushes pass through to the same disk),
# mounted without discard; the image file is removed at the end in one go.
DATA=$WORK
if [ "$USE_LOOP" = 1 ]; then
  LOOP_IMG=$WORK.img
  truncate -s 150G "$LOOP_IMG"
  LOOP_DEV=$(losetup --direct-io=on --show -f "$LOOP_IMG")
  mkfs.ext4 -q -N 3000000 -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 "$LOOP_DEV"
  mkdir -p "$WORK/data"
  mount -o nodiscard "$LOOP_DEV" "$WORK/data"
  DATA=$WORK/data
  chmod 755 "$DATA"
fi

# Results are built in WORK and replace OUT_FINAL's only at the end (an interrupted suite
# leaves the previous report in place).
OUT=$WORK/results
RAW=$OUT/raw
mkdir -p "$RAW"
SEC=$WORK/sections; mkdir -p "$SEC"
T_START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

pg_start
log "PostgreSQL $(pgq 'SHOW server_version' postgres) in $PGDIR:$PGPORT, fsync=$(pgq 'SHOW fsync' postgres)"

# The disk's own ceiling, for "what bounds it": sequential writes ending in fdatasync, and
# 4 KiB O_DSYNC writes (one flush each), where the spool lives and where the media live.
dd_rate() { awk '{ for (i = 1; i <= NF; i++) if ($i == "copied,") t = $(i + 1) } END { print t }'; }
disk_ceiling() { # dir -> "MB/s flushes/s"
  local t1 t2
  t1=$(dd if=/dev/zero of="$1/ddtest" bs=1M count=512 conv=fdatasync 2>&1 | tail -n1 | dd_rate)
  t2=$(dd if=/dev/zero of="$1/ddsync" bs=4k count=300 oflag=dsync 2>&1 | tail -n1 | dd_rate)
  rm -f "$1/ddtest" "$1/ddsync"
  echo "$(echo "536.870912 / $t1" | bc -l) $(echo "300 / $t2" | bc -l)"
}
read -r DISK_MB_S DISK_FSYNC_S < <(disk_ceiling "$WORK")
read -r MEDIA_MB_S MEDIA_FSYNC_S < <(disk_ceiling "$DATA")
log "disk $DISK: $(fmt %.0f "$DISK_MB_S") MB/s sequential + fdatasync, $(fmt %.0f "$DISK_FSYNC_S") O_DSYNC 4 KiB writes/s; media fs: $(fmt %.0f "$MEDIA_MB_S") MB/s, $(fmt %.0f "$MEDIA_FSYNC_S")/s"

url_of() { echo "ws://127.0.0.1:$1/ws/media-stream"; }
cmds_of() { cat "$@" 2>/dev/null | sort -u | sed 's/^/    /'; }
r() { fmt "$@"; }  # shorthand in tables
met() { # value op target -> met / NOT met
  case "$1" in nan | "" | null | n/a) echo "n/a"; return ;; esac
  if [ "$(echo "$1 $2 $3" | bc -l)" = 1 ]; then echo "**met**"; else echo "**not met**"; fi
}
ratio() { case "$1$2" in *nan*) echo nan ;; *) echo "$1 / $2" | bc -l ;; esac; }

# Load (the rest of the machine) and the host split of one run set, for "what bounds it".
host_line() { # files...
  local f=("$@") window=""
  local mdisk; mdisk=$(jmed .host_stats.measured.disk_write_mb_s "${f[@]}")
  # The measured window alone (lg_run's once-a-second counters): a warm-up does not count.
  [ "$mdisk" != nan ] && window="; in the measured window alone: server/sink CPU $(r %.2f "$(jmed .host_stats.measured.target_cpu_cores "${f[@]}")") cores, loadgen CPU $(r %.2f "$(jmed .host_stats.measured.loadgen_cpu_cores "${f[@]}")") cores, disk writes $(r %.0f "$mdisk") MB/s"
  echo "whole run: server/sink CPU $(r %.2f "$(jmed .host_stats.target_cpu_cores "${f[@]}")") cores, loadgen CPU $(r %.2f "$(jmed .host_stats.loadgen_cpu_cores "${f[@]}")") cores, disk writes $(r %.0f "$(jmed .host_stats.disk_write_mb_s "${f[@]}")") MB/s$window; load average at the end $(jq -r .host_stats.loadavg "${f[-1]}" 2>/dev/null)"
}

# ============================================================================================
# Figures 1 and 4: max pace, 50 sessions, window 4, default mix; server vs sink, same run set.
# ============================================================================================
F1_FLAGS=(--sessions 50 --mode max --window 4 --duration "$DUR")
fig1() {
  log "figure 1: max pace, 50 sessions, window 4 ($RUNS x server + sink, ${DUR}s each)"
  server_start f1 "${INGEST_ARGS[@]}"; sink_start
  local i
  for ((i = 1; i <= RUNS; i++)); do
    lg_run "$SERVER_PID" "$RAW/f1-server-$i" --url "$(url_of "$SERVER_PORT")" "${F1_FLAGS[@]}" || true
    lg_run "$SINK_PID" "$RAW/f1-sink-$i" --url "$(url_of "$SINK_PORT")" "${F1_FLAGS[@]}" || true
  done
  if [ "$PROFILE" = 1 ] && command -v perf >/dev/null; then
    log "figure 1: perf profile of the server (an extra run, not in the medians)"
    "$BUILD/bench/loadgen" --progress off --url "$(url_of "$SERVER_PORT")" "${F1_FLAGS[@]}" >"$RAW/f1-profile-loadgen.txt" 2>&1 &
    local lp=$!
    sleep 1
    perf record -q -F 499 -p "$SERVER_PID" -o "$WORK/perf.data" -- sleep $((DUR - 2)) >/dev/null 2>&1 || true
    wait "$lp" || true
    perf report -i "$WORK/perf.data" --no-children --percent-limit 1.2 --sort comm,dso,symbol --stdio 2>/dev/null |
      grep -E '^ +[0-9]' | sed -E 's/[[:space:]]+$//; s/[[:space:]]+-[[:space:]]+-$//' | head -n 25 >"$RAW/f1-profile.txt" || true
  fi
  log "figure 1: stopping"
  server_stop; log "  server stopped"; server_discard; sink_stop; log "  sink stopped"

  local S=("$RAW"/f1-server-*.json) K=("$RAW"/f1-sink-*.json)
  local s_ips k_ips; s_ips=$(jmed .result.items_per_s "${S[@]}"); k_ips=$(jmed .result.items_per_s "${K[@]}")
  # the ratio of each pair, then the median
  local rat; rat=$(for ((i = 1; i <= RUNS; i++)); do
      a=$(jq -r .result.items_per_s "$RAW/f1-server-$i.json" 2>/dev/null || echo); b=$(jq -r .result.items_per_s "$RAW/f1-sink-$i.json" 2>/dev/null || echo)
      [ -n "$a" ] && [ -n "$b" ] && echo "100 * $a / $b" | bc -l; done | median)
  F1_RATIO=$rat; F1_SERVER_IPS=$s_ips; F1_SINK_IPS=$k_ips
  {
    echo "## 1. Max pace: 50 sessions, window 4, default mix (server vs sink, same run set)"
    echo
    echo "Median of $RUNS run(s) each, ${DUR} s measured, runs alternating server / sink."
    echo
    echo "| | items/s | MB/s payload | ack p50 ms | ack p99 ms | missing acks | CPU cores (target) | CPU cores (loadgen) | disk writes MB/s |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for side in server sink; do
      local F; [ $side = server ] && F=("${S[@]}") || F=("${K[@]}")
      echo "| $side | $(r %.0f "$(jmed .result.items_per_s "${F[@]}")") | $(r %.1f "$(jmed .result.mb_per_s "${F[@]}")") | $(r %.2f "$(jmed .result.latency_ms.p50 "${F[@]}")") | $(r %.2f "$(jmed .result.latency_ms.p99 "${F[@]}")") | $(r %.0f "$(jmed .result.missing_acks "${F[@]}")") | $(r %.2f "$(jmed .host_stats.target_cpu_cores "${F[@]}")") | $(r %.2f "$(jmed .host_stats.loadgen_cpu_cores "${F[@]}")") | $(r %.0f "$(jmed .host_stats.disk_write_mb_s "${F[@]}")") |"
    done
    echo
    echo "| figure | number | target | |"
    echo "|---|---|---|---|"
    echo "| durable throughput / sink throughput | $(r %.1f "$rat") % | ≥ 75 % | $(met "$rat" '>=' 75) |"
    echo "| durable items/s vs the original design (~500 items/s, p99 550 ms) | $(r %.1f "$(ratio "$s_ips" 500)")× | well over 10× | $(met "$(ratio "$s_ips" 500)" '>=' 10) |"
    echo
    echo "Server threads (CPU cores, median-throughput run): $(tr '\n' ';' <"$(median_file "${S[@]}" | sed 's/\.json$/.threads/')" | sed 's/;$//; s/;/, /g')"
    echo
    echo "Commands:"; echo; echo '```'; cmds_of "$RAW"/f1-server-1.cmd; echo '```'
    echo
  } >"$SEC/1.md"

  # Figure 4: the CDF of the median-throughput runs.
  jq -r '.result.latency_cdf[] | "\(.[0]) \(.[1])"' "$(median_file "${S[@]}")" >"$WORK/f4-server.dat"
  jq -r '.result.latency_cdf[] | "\(.[0]) \(.[1])"' "$(median_file "${K[@]}")" >"$WORK/f4-sink.dat"
  gnuplot <<EOF
set terminal pngcairo size 900,540 font ",10" noenhanced
set output "$OUT/ack_latency_cdf.png"
set title "Ack latency CDF: 50 sessions, max pace, window 4, default mix"
set xlabel "ack latency (ms, log scale)"; set ylabel "fraction of acks at or below"
set logscale x; set grid; set key bottom right; set yrange [0:1.02]
plot "$WORK/f4-server.dat" using 1:2 with lines lw 2 title "mediaspool (durable)", \
     "$WORK/f4-sink.dat" using 1:2 with lines lw 2 title "sink (acks, stores nothing)"
EOF
  {
    echo "## 4. Ack latency CDF (figure-1 load)"
    echo
    echo "From loadgen's histogram (\`result.latency_cdf\`: bucket upper bound, cumulative fraction; buckets within 0.8 %) of the median-throughput run of each side."
    echo
    echo "| | p50 | p90 | p95 | p99 | p99.9 | max (ms) |"
    echo "|---|---|---|---|---|---|---|"
    for side in server sink; do
      local m; [ $side = server ] && m=$(median_file "${S[@]}") || m=$(median_file "${K[@]}")
      echo "| $side | $(jq -r '.result.latency_ms | [.p50, .p90, .p95, .p99, .p999, .max] | map(. * 100 | round / 100) | join(" | ")' "$m") |"
    done
    echo
    echo "![ack latency CDF](ack_latency_cdf.png)"
    echo
  } >"$SEC/4.md"

  if [ -s "$RAW/f1-profile.txt" ]; then
    {
      echo "### Where the server's CPU goes (perf, figure-1 load, an extra run)"
      echo
      echo "\`perf record -F 499 -p <server>\` for $((DUR - 2)) s; self time, entries ≥ 1.2 %:"
      echo
      echo '```'; cat "$RAW/f1-profile.txt"; echo '```'
      echo
    } >>"$SEC/1.md"
  fi
}

# ============================================================================================
# Figure 2: small items (1 KiB payloads), max pace.
# ============================================================================================
F2_FLAGS=(--sessions 50 --mode max --window 4 --payload-size 1024 --duration "$DUR")
fig2() {
  log "figure 2: 1 KiB items, max pace ($RUNS x server + sink)"
  server_start f2 "${INGEST_ARGS[@]}"; sink_start
  local i
  for ((i = 1; i <= RUNS; i++)); do
    lg_run "$SERVER_PID" "$RAW/f2-server-$i" --url "$(url_of "$SERVER_PORT")" "${F2_FLAGS[@]}" || true
    lg_run "$SINK_PID" "$RAW/f2-sink-$i" --url "$(url_of "$SINK_PORT")" "${F2_FLAGS[@]}" || true
  done
  server_stop; server_discard; sink_stop
  local S=("$RAW"/f2-server-*.json) K=("$RAW"/f2-sink-*.json)
  local s_ips k_ips; s_ips=$(jmed .result.items_per_s "${S[@]}"); k_ips=$(jmed .result.items_per_s "${K[@]}")
  F2_SERVER_IPS=$s_ips; F2_SINK_IPS=$k_ips
  {
    echo "## 2. Small items: 1 KiB payloads, 50 sessions, max pace, window 4"
    echo
    echo "| | items/s | ack p50 ms | ack p99 ms | CPU cores (target) | CPU cores (loadgen) | disk writes MB/s |"
    echo "|---|---|---|---|---|---|---|"
    for side in server sink; do
      local F; [ $side = server ] && F=("${S[@]}") || F=("${K[@]}")
      echo "| $side | $(r %.0f "$(jmed .result.items_per_s "${F[@]}")") | $(r %.2f "$(jmed .result.latency_ms.p50 "${F[@]}")") | $(r %.2f "$(jmed .result.latency_ms.p99 "${F[@]}")") | $(r %.2f "$(jmed .host_stats.target_cpu_cores "${F[@]}")") | $(r %.2f "$(jmed .host_stats.loadgen_cpu_cores "${F[@]}")") | $(r %.0f "$(jmed .host_stats.disk_write_mb_s "${F[@]}")") |"
    done
    echo
    echo "| figure | number | target | |"
    echo "|---|---|---|---|"
    echo "| durable items/s, 1 KiB | $(r %.0f "$s_ips") | ≥ 50,000 | $(met "$s_ips" '>=' 50000) |"
    echo "| sink items/s, 1 KiB (the ceiling here) | $(r %.0f "$k_ips") | | |"
    echo "| durable / sink | $(r %.1f "$(echo "100 * $(ratio "$s_ips" "$k_ips")" | bc -l 2>/dev/null || echo nan)") % | | |"
    echo
    echo "Server threads (CPU cores, median-throughput run): $(tr '\n' ';' <"$(median_file "${S[@]}" | sed 's/\.json$/.threads/')" | sed 's/;$//; s/;/, /g')"
    echo
    echo "Commands:"; echo; echo '```'; cmds_of "$RAW"/f2-server-1.cmd; echo '```'
    echo
  } >"$SEC/2.md"
}

# ============================================================================================
# Figure 3: throughput and p99 vs concurrent sessions.
# ============================================================================================
fig3() {
  log "figure 3: sessions $F3_SESSIONS ($RUNS x server + sink each)"
  local n i dat=$WORK/f3.dat
  : >"$dat"
  for n in $F3_SESSIONS; do
    local ramp=0; [ "$n" -ge 500 ] && ramp=2
    local flags=(--sessions "$n" --mode max --window 4 --duration "$DUR" --ramp-up "$ramp")
    server_start "f3-$n" "${INGEST_ARGS[@]}"; sink_start
    for ((i = 1; i <= RUNS; i++)); do
      lg_run "$SERVER_PID" "$RAW/f3-$n-server-$i" --url "$(url_of "$SERVER_PORT")" "${flags[@]}" || true
      lg_run "$SINK_PID" "$RAW/f3-$n-sink-$i" --url "$(url_of "$SINK_PORT")" "${flags[@]}" || true
    done
    server_stop; server_discard; sink_stop
    local S=("$RAW"/f3-"$n"-server-*.json) K=("$RAW"/f3-"$n"-sink-*.json)
    echo "$n $(jmed .result.items_per_s "${S[@]}") $(jmed .result.latency_ms.p99 "${S[@]}") $(jmed .result.items_per_s "${K[@]}") $(jmed .result.latency_ms.p99 "${K[@]}") $(jmed .result.mb_per_s "${S[@]}") $(jmed .result.latency_ms.p50 "${S[@]}") $(jmed .result.missing_acks "${S[@]}") $(jmed .host_stats.target_cpu_cores "${S[@]}")" >>"$dat"
  done
  gnuplot <<EOF
set terminal pngcairo size 900,540 font ",10" noenhanced
set output "$OUT/throughput_vs_sessions.png"
set title "Max pace, window 4, default mix: throughput and p99 vs concurrent sessions"
set xlabel "concurrent sessions (log scale)"; set logscale x
set ylabel "items/s acked"; set y2label "ack p99 (ms, log scale)"
set logscale y2; set ytics nomirror; set y2tics; set grid; set key top left
set yrange [0:*]
plot "$dat" using 1:2 with linespoints lw 2 pt 7 title "mediaspool items/s", \
     "$dat" using 1:4 with linespoints lw 2 pt 5 title "sink items/s", \
     "$dat" using 1:3 axes x1y2 with linespoints dt 2 lw 2 pt 7 title "mediaspool p99 ms", \
     "$dat" using 1:5 axes x1y2 with linespoints dt 2 lw 2 pt 5 title "sink p99 ms"
EOF
  {
    echo "## 3. Throughput and p99 vs concurrent sessions (max pace, window 4, default mix)"
    echo
    echo "| sessions | server items/s | server MB/s | server p50 ms | server p99 ms | missing | server CPU cores | sink items/s | sink p99 ms | server / sink |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    while read -r n si sp ki kp smb sp50 miss cpu; do
      echo "| $n | $(r %.0f "$si") | $(r %.1f "$smb") | $(r %.1f "$sp50") | $(r %.1f "$sp") | $(r %.0f "$miss") | $(r %.2f "$cpu") | $(r %.0f "$ki") | $(r %.1f "$kp") | $(r %.1f "$(echo "100 * $(ratio "$si" "$ki")" | bc -l 2>/dev/null || echo nan)") % |"
    done <"$dat"
    echo
    echo "No target of its own (figure 1 is the 50-session point); the anchor is the original design's ~500 items/s at 50 sessions, p99 550 ms."
    echo
    echo "![throughput vs sessions](throughput_vs_sessions.png)"
    echo
    echo "Commands (N = $F3_SESSIONS; --ramp-up 2 from 500 sessions):"; echo; echo '```'; cmds_of "$RAW"/f3-1000-server-1.cmd; echo '```'
    echo
  } >"$SEC/3.md"
}

# ============================================================================================
# Figure 5: per-item cost vs position in a long session; WAL per item from LSN samples.
# ============================================================================================
F5_FLAGS=(--sessions 10 --mode max --window 4 --audio-interval 0 --frame-interval 2 --items 2000 --position-bucket 100)
# Samples "epoch_s rows lsn_bytes" every 50 ms from one psql session until killed.
# Stops when $WORK/stop-sampler exists.
wal_sampler() {
  local q="SELECT extract(epoch from clock_timestamp()), (SELECT count(*) FROM media_items), pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint;"
  { while [ ! -e "$WORK/stop-sampler" ]; do echo "$q"; sleep 0.05; done; } |
    PGOPTIONS="-c client_min_messages=warning" runuser -u postgres -- "$(pgbin)/psql" -h "$PGDIR/sock" -p "$PGPORT" -U postgres -d "$PGDB" -qtAX -F ' ' 2>/dev/null |
    awk 'NF == 3 { print; fflush() }'
}
# WAL bytes per row between row counts lo and hi, interpolating the LSN linearly in the samples.
wal_per_row() { # samples lo hi
  awk -v lo="$2" -v hi="$3" '
    function at(x,   i) { for (i = 2; i <= n; i++) if (r[i] >= x) { if (r[i] == r[i-1]) return w[i-1]; return w[i-1] + (w[i] - w[i-1]) * (x - r[i-1]) / (r[i] - r[i-1]) } return "nan" }
    { n++; r[n] = $2; w[n] = $3 }
    END { a = at(lo); b = at(hi); if (a == "nan" || b == "nan" || hi <= lo) print "nan"; else printf "%.1f\n", (b - a) / (hi - lo) }' "$1"
}
fig5() {
  log "figure 5: 10 sessions x 2,000 frames ($RUNS run(s)), WAL sampled"
  local i
  for ((i = 1; i <= RUNS; i++)); do
    server_start "f5-$i" "${INGEST_ARGS[@]}"
    # the schema exists once the server listens; sample until loadgen is done and rows settle
    rm -f "$WORK/stop-sampler"
    wal_sampler >"$RAW/f5-wal-$i.txt" &
    local sp=$!
    sleep 0.3
    lg_run "$SERVER_PID" "$RAW/f5-$i" --url "$(url_of "$SERVER_PORT")" "${F5_FLAGS[@]}" || true
    local want; want=$(jq -r '.result.measured_acked' "$RAW/f5-$i.json" 2>/dev/null || echo 20000)
    local k
    for ((k = 0; k < 300; k++)); do [ "$(pg_rows)" -ge "$want" ] && break; sleep 0.1; done
    sleep 0.3
    touch "$WORK/stop-sampler"; wait "$sp" 2>/dev/null || true
    server_stop; server_discard
    # rows 0-1000 are positions 0-100 of the 10 sessions, rows 19,000-20,000 positions 1,900-2,000
    echo "$(wal_per_row "$RAW/f5-wal-$i.txt" 0 1000) $(wal_per_row "$RAW/f5-wal-$i.txt" 19000 20000) $(wal_per_row "$RAW/f5-wal-$i.txt" 0 20000)" >"$RAW/f5-wal-$i.sum"
  done
  local F=("$RAW"/f5-*.json)
  # p50 and p99 per 100-item bucket, the median over runs
  local nb; nb=$(jq '.result.by_position | length' "${F[0]}")
  : >"$WORK/f5.dat"
  local b
  for ((b = 0; b < nb; b++)); do
    echo "$((b * 100 + 50)) $(jmed ".result.by_position[$b].p50" "${F[@]}") $(jmed ".result.by_position[$b].p99" "${F[@]}")" >>"$WORK/f5.dat"
  done
  local first last; first=$(awk 'NR == 1 { print $2 }' "$WORK/f5.dat"); last=$(awk 'END { print $2 }' "$WORK/f5.dat")
  local lat_ratio; lat_ratio=$(ratio "$last" "$first")
  local w0 w1 wall
  w0=$(cat "$RAW"/f5-wal-*.sum | awk '{ print $1 }' | grep -v nan | median)
  w1=$(cat "$RAW"/f5-wal-*.sum | awk '{ print $2 }' | grep -v nan | median)
  wall=$(cat "$RAW"/f5-wal-*.sum | awk '{ print $3 }' | grep -v nan | median)
  local wal_ratio; wal_ratio=$(ratio "$w1" "$w0")
  F5_LAT_RATIO=$lat_ratio; F5_WAL_RATIO=$wal_ratio
  gnuplot <<EOF
set terminal pngcairo size 900,540 font ",10" noenhanced
set output "$OUT/cost_vs_position.png"
set title "Ack latency vs item position: 10 sessions x 2,000 frames, max pace, window 4"
set xlabel "item position in the session"; set ylabel "ack latency (ms)"
set grid; set key top left; set yrange [0:*]
plot "$WORK/f5.dat" using 1:2 with linespoints lw 2 pt 7 title "p50 per 100-item bucket", \
     "$WORK/f5.dat" using 1:3 with linespoints dt 2 lw 2 pt 5 title "p99 per 100-item bucket"
EOF
  {
    echo "## 5. Per-item cost vs position in a long session (10 sessions × 2,000 frames)"
    echo
    echo "Ack latency per 100-item bucket from loadgen's per-position histograms (median over $RUNS run(s)). WAL bytes per item: the script samples \`count(*) FROM media_items\` and \`pg_current_wal_insert_lsn()\` every 50 ms in one psql session during the run and interpolates the LSN at row counts 0, 1,000, 19,000 and 20,000 (the 10 sessions advance together, so rows 0–1,000 are positions 0–100 and rows 19,000–20,000 are positions 1,900–2,000). The WAL includes everything the server writes (rows, session rows, array rebuilds, full-page images after checkpoints)."
    echo
    echo "| figure | items 0–100 | items 1,900–2,000 | ratio | target | |"
    echo "|---|---|---|---|---|---|"
    echo "| ack p50 ms | $(r %.2f "$first") | $(r %.2f "$last") | $(r %.2f "$lat_ratio")× | ≤ 1.2× | $(met "$lat_ratio" '<=' 1.2) |"
    echo "| PostgreSQL WAL bytes / item | $(r %.0f "$w0") | $(r %.0f "$w1") | $(r %.2f "$wal_ratio")× | ≤ 1.2× | $(met "$wal_ratio" '<=' 1.2) |"
    echo
    echo "WAL per item over the whole run (rebuilds amortised): $(r %.0f "$wall") B. The original design: ack p50 grew 7.4× over the same 2,000 frames."
    echo
    echo "![cost vs position](cost_vs_position.png)"
    echo
    echo "Commands:"; echo; echo '```'; cmds_of "$RAW"/f5-1.cmd; echo '```'
    echo
  } >"$SEC/5.md"
}

# ============================================================================================
# Figure 6: RSS vs connected idle sessions (server, and the sink as a bare-Beast reference).
# ============================================================================================
F6_FLAGS=(--mode realtime --audio-interval 3600 --frame-interval 0 --threads 2 --duration 600 --init-timeout 60)
established() { ss -Htn state established "( sport = :$1 )" 2>/dev/null | wc -l; }
# idle_rss TARGET_PID PORT N OUT -> prints RSS kB with N idle sessions connected and initialised
idle_rss() {
  local pid=$1 port=$2 n=$3 out=$4
  if [ "$n" -gt 0 ]; then
    local ramp; ramp=$(( (n + 1999) / 2000 ))
    "$BUILD/bench/loadgen" --progress off --url "$(url_of "$port")" --sessions "$n" --ramp-up "$ramp" "${F6_FLAGS[@]}" \
      --json "$out.json" >"$out.txt" 2>&1 &
    LG_PID=$!
    printf 'loadgen --url ws://127.0.0.1:PORT/ws/media-stream --sessions %s --ramp-up %s %s\n' "$n" "$ramp" "${F6_FLAGS[*]}" >"$out.cmd"
    local k
    for ((k = 0; k < 1200; k++)); do [ "$(established "$port")" -ge "$n" ] && break; sleep 0.1; done
    # every session_init_ack sent: the server has a media_sessions row per session
    if [ "$pid" = "$SERVER_PID" ]; then
      for ((k = 0; k < 600; k++)); do [ "$(pgq 'SELECT count(*) FROM media_sessions' 2>/dev/null || echo 0)" -ge "$n" ] && break; sleep 0.1; done
    fi
    sleep 3
  else
    sleep 2
  fi
  echo "$(rss_kb "$pid") $(established "$port")"
  if [ "$n" -gt 0 ]; then
    kill -INT "$LG_PID" 2>/dev/null || true
    wait "$LG_PID" 2>/dev/null || true
    LG_PID=""
  fi
}
fig6() {
  log "figure 6: RSS vs idle sessions $F6_LEVELS ($RUNS run(s)); ulimit -n $(ulimit -n)"
  local i n
  for ((i = 1; i <= RUNS; i++)); do
    for n in $F6_LEVELS; do
      server_start "f6-$n" "${INGEST_ARGS[@]}"
      echo "$n $(idle_rss "$SERVER_PID" "$SERVER_PORT" "$n" "$RAW/f6-server-$n-$i")" >>"$RAW/f6-server-$i.txt"
      server_stop; server_discard
      sink_start
      echo "$n $(idle_rss "$SINK_PID" "$SINK_PORT" "$n" "$RAW/f6-sink-$n-$i")" >>"$RAW/f6-sink-$i.txt"
      sink_stop
    done
  done
  : >"$WORK/f6.dat"
  for n in $F6_LEVELS; do
    local s k sc
    s=$(cat "$RAW"/f6-server-*.txt | awk -v n="$n" '$1 == n { print $2 }' | median)
    sc=$(cat "$RAW"/f6-server-*.txt | awk -v n="$n" '$1 == n { print $3 }' | median)
    k=$(cat "$RAW"/f6-sink-*.txt | awk -v n="$n" '$1 == n { print $2 }' | median)
    echo "$n $s $k $sc" >>"$WORK/f6.dat"
  done
  local base top n_top kbs kbk
  base=$(awk 'NR == 1 { print $2 }' "$WORK/f6.dat"); top=$(awk 'END { print $2 }' "$WORK/f6.dat"); n_top=$(awk 'END { print $1 }' "$WORK/f6.dat")
  kbs=$(echo "($top - $base) / $n_top" | bc -l)
  kbk=$(awk 'NR == 1 { b = $3 } END { printf "%.3f\n", ($3 - b) / $1 }' "$WORK/f6.dat")
  F6_KB=$kbs
  gnuplot <<EOF
set terminal pngcairo size 900,540 font ",10" noenhanced
set output "$OUT/rss_vs_sessions.png"
set title "Resident memory vs connected idle sessions"
set xlabel "connected idle sessions"; set ylabel "RSS (MB)"
set grid; set key top left; set yrange [0:*]
plot "$WORK/f6.dat" using 1:(\$2/1024) with linespoints lw 2 pt 7 title "mediaspool", \
     "$WORK/f6.dat" using 1:(\$3/1024) with linespoints lw 2 pt 5 title "sink (bare Beast)", \
     "$WORK/f6.dat" using 1:(($base + 16*\$1)/1024) with lines dt 2 lw 1 title "target: base + 16 KB/session"
EOF
  {
    echo "## 6. Memory: RSS vs connected idle sessions"
    echo
    echo "A fresh server (and a fresh sink) per level; sessions connect, get their session_init_ack (checked as rows in media_sessions) and stay idle (real-time mode, first audio chunk due after 3,600 s, no frames); VmRSS from /proc/<pid>/status 3 s later. Median of $RUNS run(s). Descriptors: 10,000 sessions need ~10,000 in the server and as many in loadgen (each its own process, so the limit applies to each); the script raises \`ulimit -n\` to $NOFILE where it may, and it was $(ulimit -n) in this run (enough for 10,000 sessions; beyond ~19,000 raise the hard limit as root first). The server refuses WebSocket connections beyond \`limits.max-connections\` (20,000)."
    echo
    echo "| idle sessions | server RSS MB | KB per session over the base | KB per session, marginal from the previous level | server sockets seen | sink RSS MB |"
    echo "|---|---|---|---|---|---|"
    local pn=0 ps=$base
    while read -r n s k sc; do
      local avg=nan mar=nan
      [ "$n" -gt 0 ] && avg=$(echo "($s - $base) / $n" | bc -l) && mar=$(echo "($s - $ps) / ($n - $pn)" | bc -l)
      echo "| $n | $(r %.1f "$(echo "$s / 1024" | bc -l)") | $(r %.1f "$avg") | $(r %.1f "$mar") | $sc | $(r %.1f "$(echo "$k / 1024" | bc -l)") |"
      pn=$n; ps=$s
    done <"$WORK/f6.dat"
    echo
    echo "| figure | number | target | |"
    echo "|---|---|---|---|"
    echo "| server RSS per idle session ((RSS@$n_top − RSS@0) / $n_top) | $(r %.2f "$kbs") KB | ≤ 16 KB | $(met "$kbs" '<=' 16) |"
    echo "| server RSS over the base at $n_top sessions | $(r %.0f "$(echo "($top - $base) / 1024" | bc -l)") MB | ≤ $(( n_top * 16 / 1000 )) MB | $(met "$(echo "($top - $base) / 1024" | bc -l)" '<=' "$(( n_top * 16 / 1000 ))") |"
    echo "| sink RSS per idle session (reference) | $(r %.2f "$kbk") KB | | |"
    echo
    echo "![rss vs sessions](rss_vs_sessions.png)"
    echo
    echo "Commands:"; echo; echo '```'; cmds_of "$RAW"/f6-server-*-1.cmd; echo '```'
    echo
  } >"$SEC/6.md"
}

# ============================================================================================
# Figure 7: real time, aged sessions (bounded versions of the 10,000 x 1,080-item target).
# ============================================================================================
# The result files of one figure-7 case id's runs that produced one, one per line.
f7_runs_of() { local i; for ((i = 1; i <= F7_RUNS; i++)); do [ -s "$RAW/f7-$1-$i.json" ] && echo "$RAW/f7-$1-$i.json"; done; return 0; }

fig7() {
  log "figure 7: real time, cases $F7_CASES (sessions:warm-up items:seconds[:warm-up payload bytes]), $F7_RUNS run(s) each"
  local c i F
  {
    echo "## 7. Real time: concurrent sessions at the recorder's cadence, aged with --warmup"
    echo
    echo "The full target (10,000 sessions aged to 1,080 items, i.e. 10.8 M items and ~690 GB of warm-up payload) does not fit this machine's durable throughput; these bounded cases were run instead, **$F7_RUNS run(s) each** (rounds: every case once per round, each run on a fresh server, spool and media); the numbers are medians over the runs, with the runs' range, and missing acks are summed over all runs. Cadence: a 160 KB audio chunk every 10 s and a 45 KB frame every 2 s per session (0.6 items/s and ~38.5 KB/s per session; 10,000 sessions = 6,000 items/s and ~385 MB/s). Warm-up at max pace with window 4; sessions connect over --ramp-up and their cadence is spread over it. Where the warm-up payload is given, warm-up items carry that many bytes (\`--warmup-payload-size\`): the sessions are 30 minutes old in every other respect (1,080 rows, JSONB arrays and files each), only their past media is smaller. "
    if [ "${F7_SETTLE:-600}" != 0 ]; then
      echo "After the warm-up, loadgen waits (\`--settle ${F7_SETTLE:-600}\`) until the server's \`/metrics\` shows no item pending: the warm-up at max pace leaves tens of thousands of files and rows still to write when the last session is ready, and the measured minute is to meet sessions that are 30 minutes old, not that backlog (the table gives both: items pending when the warm-up ended, and the wait)."
    else
      echo "**Not settled** (\`F7_SETTLE=0\`): the measured minute starts as soon as the last session is ready, while the server still writes the warm-up's backlog of files and rows, so it measures real-time acks during a drain."
    fi
    echo
    echo "Seconds with an ack > 100 ms: per run, how many of the measured seconds held an ack slower than the target (loadgen's \`latency_by_second\`). A p99 over 100 ms made in a few seconds is a stall of the node (its spool commits, \`mediaspool_spool_commit_seconds\`), not a load it cannot carry; each run keeps \`vmstat -t 1\` and the spool's RocksDB log beside its JSON in raw/."
    echo
    echo "| sessions | warm-up items/session | warm-up payload | pending after warm-up | waited s | measured s | offered items/s | acked items/s | ack p50 ms | ack p99 ms (runs) | max ms | seconds with an ack > 100 ms (runs) | missing acks (all runs) | errors (all runs) | target p99 ≤ 100 ms, 0 missing |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  } >"$SEC/7.md"
  for ((i = 1; i <= F7_RUNS; i++)); do
    for c in $F7_CASES; do
      local n w d wp
      IFS=: read -r n w d wp <<<"$c"
      local ramp; ramp=$(( n >= 5000 ? 10 : 5 ))
      local id=$n-$w${wp:+-$wp}
      log "figure 7: $n sessions aged $w, run $i of $F7_RUNS"
      server_start "f7-$id-$i" "${INGEST_ARGS[@]}"
      lg_run "$SERVER_PID" "$RAW/f7-$id-$i" --url "$(url_of "$SERVER_PORT")" --sessions "$n" --threads 2 --mode realtime \
        --ramp-up "$ramp" --warmup "$w" --warmup-window 4 ${wp:+--warmup-payload-size "$wp"} --settle "${F7_SETTLE:-600}" --duration "$d" --drain-timeout 30 || true
      server_stop; server_discard
    done
  done
  for c in $F7_CASES; do
    local n w d wp
    IFS=: read -r n w d wp <<<"$c"
    local F; mapfile -t F < <(f7_runs_of "$n-$w${wp:+-$wp}")
    [ ${#F[@]} -gt 0 ] || continue
    local p99 lo hi miss errs
    p99=$(jmed .result.latency_ms.p99 "${F[@]}")
    lo=$(for x in "${F[@]}"; do jq -r .result.latency_ms.p99 "$x"; done | sort -g | head -n 1)
    hi=$(for x in "${F[@]}"; do jq -r .result.latency_ms.p99 "$x"; done | sort -g | tail -n 1)
    miss=$(for x in "${F[@]}"; do jq -r '.result.missing_acks + .result.unsent' "$x"; done | awk '{ s += $1 } END { print s + 0 }')
    errs=$(jq -s -c 'map(.result.errors_by_code) | reduce .[] as $e ({}; reduce ($e | to_entries[]) as $kv (.; .[$kv.key] += $kv.value))' "${F[@]}")
    local ok="**not met**"; [ "$(echo "$p99 <= 100" | bc -l)" = 1 ] && [ "$miss" = 0 ] && ok="**met** (bounded case)"
    echo "| $n | $w | $([ -n "$wp" ] && echo "$wp B" || echo "as measured") | $(r %.0f "$(jmed .result.pending_at_ready "${F[@]}")") | $(r %.1f "$(jmed .result.settle_s "${F[@]}")") | $(r %.0f "$(jmed .result.measure_s "${F[@]}")") | $(r %.0f "$(echo "$n * 0.6" | bc -l)") | $(r %.0f "$(jmed .result.items_per_s "${F[@]}")") | $(r %.1f "$(jmed .result.latency_ms.p50 "${F[@]}")") | $(r %.1f "$p99") ($(r %.1f "$lo")–$(r %.1f "$hi")) | $(r %.1f "$(jmed .result.latency_ms.max "${F[@]}")") | $(for x in "${F[@]}"; do jq '[.result.latency_by_second[]? | select(.max_ms > 100)] | length' "$x"; done | paste -sd/ -) | $miss | $errs | $ok |" >>"$SEC/7.md"
    F7_LAST="${F7_LAST:+$F7_LAST; }$n sessions aged $w: p99 $(r %.1f "$p99") ms (median of ${#F[@]}), missing $miss"
  done
  {
    echo
    echo "CPU / disk per case (medians of the runs; the whole run includes connecting, the warm-up at max pace and the settle, so a case with a large warm-up shows the warm-up's disk writes there): $(for c in $F7_CASES; do IFS=: read -r n w d wp <<<"$c"; mapfile -t F < <(f7_runs_of "$n-$w${wp:+-$wp}"); [ ${#F[@]} -gt 0 ] && printf '%s sessions aged %s: %s; ' "$n" "$w" "$(host_line "${F[@]}")"; done)"
    echo
    echo "Commands (the first run of each case):"; echo; echo '```'; cmds_of "$RAW"/f7-*-1.cmd; echo '```'
    echo
  } >>"$SEC/7.md"
}

# ============================================================================================
# Figure 11: open arrivals past capacity (admission).
# ============================================================================================
# Sessions arrive at a rate whether or not the earlier ones got in, as interviews start on a
# platform; each records its time from its own admission and ends. Past what the node stores,
# admission (limits.admission-lag) refuses new sessions' upgrades with 503; they retry with
# backoff (as the recorder page does) and are taken once the node has caught up.
F11_CASE=${F11_CASE:-"100:6000:60"}
# Each run stops taking sessions this long after the first arrival (loadgen --time-limit): on a
# slow day a node far past capacity would otherwise stretch a run past 14 minutes of retries.
F11_TIME_LIMIT=${F11_TIME_LIMIT:-360}
fig11() {
  local rate n d i
  IFS=: read -r rate n d <<<"$F11_CASE"
  log "figure 11: open arrivals, $rate sessions/s, $n sessions of $d s ($RUNS run(s))"
  for ((i = 1; i <= RUNS; i++)); do
    server_start "f11-$i" "${INGEST_ARGS[@]}"
    lg_run "$SERVER_PID" "$RAW/f11-$i" --url "$(url_of "$SERVER_PORT")" --arrival-rate "$rate" --sessions "$n" \
      --duration "$d" --threads 2 --reconnect-max 1000 --backoff-max-ms 5000 --drain-timeout 30 \
      --time-limit "$F11_TIME_LIMIT" || true
    server_stop; server_discard
  done
  local F=("$RAW"/f11-*.json) x
  local refused503 refused1013 miss not_taken
  refused503=$(for x in "${F[@]}"; do jq -r '.result.upgrades_refused["503"] // 0' "$x"; done | median)
  refused1013=$(for x in "${F[@]}"; do jq -r '.result.errors_by_code.overloaded // 0' "$x"; done | median)
  not_taken=$(for x in "${F[@]}"; do jq -r '.result.sessions_not_taken // 0' "$x"; done | median)
  miss=$(for x in "${F[@]}"; do jq -r '.result.missing_acks + .result.unsent' "$x"; done | awk '{ s += $1 } END { print s + 0 }')
  {
    echo "## 11. Open arrivals past capacity: admission"
    echo
    echo "$n sessions arrive at $rate per second (whether or not the earlier ones got in, as interviews start on a platform), each records $d s at the recorder's cadence from its own admission and then ends, so up to $(r %.0f "$(echo "$rate * $d" | bc -l)") record at once ($(r %.0f "$(echo "$rate * $d * 0.6" | bc -l)") items/s offered at the peak). Past what the node stores, \`limits.admission-lag\` (500 ms) refuses new sessions' upgrades with HTTP 503; a refused session retries with backoff (up to 5 s, as the recorder page does) and is taken once the node has caught up. A run stops taking sessions ${F11_TIME_LIMIT} s after the first arrival (\`loadgen --time-limit\`); those still waiting or yet to arrive then are counted as not taken. Medians of $RUNS run(s); missing acks summed."
    echo
    echo "| sessions taken (not taken by the limit) | upgrades refused (503) | refused at session_init (1013) | wait to be taken p50 / p95 / max s | acked items/s | ack p50 ms | ack p99 ms | ack max ms | sessions ended | missing acks |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    echo "| $(jmed .result.sessions_admitted "${F[@]}") of $n ($(r %.0f "$not_taken")) | $(r %.0f "$refused503") | $(r %.0f "$refused1013") | $(r %.2f "$(echo "$(jmed .result.admit_latency_ms.p50 "${F[@]}") / 1000" | bc -l)") / $(r %.1f "$(echo "$(jmed .result.admit_latency_ms.p95 "${F[@]}") / 1000" | bc -l)") / $(r %.1f "$(echo "$(jmed .result.admit_latency_ms.max "${F[@]}") / 1000" | bc -l)") | $(r %.0f "$(jmed .result.items_per_s "${F[@]}")") | $(r %.1f "$(jmed .result.latency_ms.p50 "${F[@]}")") | $(r %.1f "$(jmed .result.latency_ms.p99 "${F[@]}")") | $(r %.1f "$(jmed .result.latency_ms.max "${F[@]}")") | $(jmed .result.sessions_ended "${F[@]}") | $miss |"
    echo
    echo "$(host_line "${F[@]}")."
    echo
    echo "Command (each run):"; echo; echo '```'; cmds_of "$RAW"/f11-*.cmd; echo '```'
    echo
  } >"$SEC/11.md"
}

# ============================================================================================
# Figure 8: recovery with 10,000 items in the spool.
# ============================================================================================
F8_FLAGS=(--sessions 50 --mode max --window 4 --items 200)
fig8() {
  log "figure 8: recovery, 10,000 items spooled while PostgreSQL is down, kill -9 ($RUNS run(s))"
  local i k
  for ((i = 1; i <= RUNS; i++)); do
    server_start "f8" "${INGEST_ARGS[@]}"
    "$BUILD/bench/loadgen" --progress off --url "$(url_of "$SERVER_PORT")" "${F8_FLAGS[@]}" --json "$RAW/f8-load-$i.json" >"$RAW/f8-load-$i.txt" 2>&1 &
    LG_PID=$!
    printf 'loadgen --url ws://127.0.0.1:PORT/ws/media-stream %s\n' "${F8_FLAGS[*]}" >"$RAW/f8-load-$i.cmd"
    # session_init needs PostgreSQL: stop it once all 50 sessions have their row
    for ((k = 0; k < 600; k++)); do [ "$(pgq 'SELECT count(*) FROM media_sessions' 2>/dev/null || echo 0)" -ge 50 ] && break; sleep 0.02; done
    local rows_before; rows_before=$(pg_rows)
    pg_stop
    wait "$LG_PID" || true; LG_PID=""
    local acked; acked=$(jq -r .result.measured_acked "$RAW/f8-load-$i.json" 2>/dev/null || echo 0)
    kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
    local spool_mb; spool_mb=$(du -sm "$SERVER_SPOOL" | cut -f1)
    pg_start
    local t0; t0=$(date +%s.%N)
    server_launch "${INGEST_ARGS[@]}"
    local ready=$SERVER_READY_S drained=nan
    for ((k = 0; k < 1200; k++)); do
      if [ "$(pg_rows)" -ge "$acked" ]; then drained=$(echo "$(date +%s.%N) - $t0" | bc -l); break; fi
      sleep 0.05
    done
    local spooled; spooled=$(grep -o 'recovery: [0-9]* records' "$SERVER_DIR/server.log" | tail -n1 | grep -o '[0-9]*' || echo "?")
    echo "$ready $drained $spooled $acked $rows_before $spool_mb" >"$RAW/f8-$i.sum"
    server_stop; server_discard
  done
  local ready drained; ready=$(awk '{ print $1 }' "$RAW"/f8-*.sum | median); drained=$(awk '{ print $2 }' "$RAW"/f8-*.sum | grep -v nan | median)
  F8_READY=$ready; F8_DRAINED=$drained
  {
    echo "## 8. Recovery: 10,000 items in the spool, kill -9, restart"
    echo
    echo "50 sessions send 200 items each (default mix) at max pace; PostgreSQL is stopped as soon as the 50 session rows exist, so the acked items stay in the spool (files may already be written, rows cannot be); after the last ack the server is killed with SIGKILL, PostgreSQL is started again and the server restarted on the same spool and media root. Ready = process start to the port file (listening); drained = process start to \`count(*) FROM media_items\` reaching the number of acked items (polled every 50 ms; a record leaves the spool only after its file and row exist)."
    echo
    echo "| run | ready s | drained s | records in the spool at start (server log) | items acked | rows committed before the DB stopped | spool MB |"
    echo "|---|---|---|---|---|---|---|"
    for ((i = 1; i <= RUNS; i++)); do read -r a b c d e f <"$RAW/f8-$i.sum"; echo "| $i | $(r %.2f "$a") | $(r %.2f "$b") | $c | $d | $e | $f |"; done
    echo
    echo "| figure | number | target | |"
    echo "|---|---|---|---|"
    echo "| time to listening | $(r %.2f "$ready") s | ≤ 2 s | $(met "$ready" '<=' 2) |"
    echo "| time until the spool is drained | $(r %.2f "$drained") s | ≤ 10 s | $(met "$drained" '<=' 10) |"
    echo
    echo "Commands:"; echo; echo '```'; cmds_of "$RAW"/f8-load-1.cmd; echo "    (then: scripts/pg.sh stop var/pg-bench; kill -9 <server>; scripts/pg.sh start var/pg-bench 55435; mediaspool … same spool/media)"; echo '```'
    echo
  } >"$SEC/8.md"
}

# ============================================================================================
# Figure 10: transcription (issue 5): one worker's real-time factor and word error rate on flite
# speech, and the ack -> transcription latency at 10 concurrent real-time sessions.
# ============================================================================================
F10_OPTIONS_DEFAULT="-maxhmmpf 3000 -fwdflat no -topn 2 -maxwpf 10" # = asr::engine_config's default
fig10() {
  log "figure 10: transcription, asr_bench ($RUNS run(s) per option set) and 10 real-time sessions of speech"
  local i
  for ((i = 1; i <= RUNS; i++)); do
    "$BUILD/bench/asr_bench" --json "$RAW/f10-tuned-$i.json" --options "$F10_OPTIONS_DEFAULT" --write-chunks "$WORK/speech" >"$RAW/f10-tuned-$i.txt" 2>&1
    "$BUILD/bench/asr_bench" --json "$RAW/f10-ps-defaults-$i.json" --options "" >"$RAW/f10-ps-defaults-$i.txt" 2>&1
  done
  # The corpus for the load: the full 10 s chunks only (a short last chunk would say 10 s too).
  local last; last=$(ls "$WORK/speech" | sort -t_ -k2 -n | tail -n1)
  [ "$(ls "$WORK/speech" | wc -l)" -gt 1 ] && rm -f "$WORK/speech/$last"
  local dur=$(( QUICK == 1 ? 60 : 180 ))
  local flags=(--sessions 10 --mode realtime --ramp-up 10 --duration "$dur" --speech-dir "$WORK/speech" --transcript-wait 60)
  server_start "f10"
  lg_run "$SERVER_PID" "$RAW/f10-load" --url "$(url_of "$SERVER_PORT")" "${flags[@]}" || true
  curl -s "http://127.0.0.1:$SERVER_PORT/metrics" >"$RAW/f10-metrics.txt" || true
  server_stop; server_discard
  local f=$RAW/f10-load.json
  local rtf wer rtf0 wer0
  rtf=$(jmed .rtf "$RAW"/f10-tuned-*.json); wer=$(jmed .wer "$RAW"/f10-tuned-*.json)
  rtf0=$(jmed .rtf "$RAW"/f10-ps-defaults-*.json); wer0=$(jmed .wer "$RAW"/f10-ps-defaults-*.json)
  local lrtf; lrtf=$(awk '$1 == "mediaspool_transcription_real_time_factor" { print $2 }' "$RAW/f10-metrics.txt")
  local p50=nan p95=nan mx=nan got=0 miss=nan
  if [ -s "$f" ]; then
    p50=$(jq -r .result.transcript_latency_ms.p50 "$f"); p95=$(jq -r .result.transcript_latency_ms.p95 "$f")
    mx=$(jq -r .result.transcript_latency_ms.max "$f"); got=$(jq -r .result.transcripts "$f"); miss=$(jq -r .result.transcripts_missing "$f")
    p50=$(echo "$p50 / 1000" | bc -l); p95=$(echo "$p95 / 1000" | bc -l); mx=$(echo "$mx / 1000" | bc -l)
  fi
  F10_RTF=$rtf; F10_WER=$(echo "100 * $wer" | bc -l); F10_P50=$p50; F10_MISS=$miss
  {
    echo "## 10. Transcription"
    echo
    echo "One transcriber worker's work, measured alone by \`asr_bench\` (median of $RUNS): flite's rms voice reads a ~130-word interview answer, the ffmpeg CLI cuts it into 10 s WebM/Opus chunks as the recorder does, and each chunk is decoded (FFmpeg libraries) and recognized (pocketsphinx, Debian's en-us model) on one thread. Real-time factor = that thread's CPU seconds per audio second, decoding included; word error rate = word edits / reference words of the joined text."
    echo
    echo "| pocketsphinx options | real-time factor | word error rate |"
    echo "|---|---|---|"
    echo "| \`$F10_OPTIONS_DEFAULT\` (mediaspool's default, \`asr.pocketsphinx-options\`) | $(r %.3f "$rtf") | $(r %.1f "$(echo "100 * $wer" | bc -l)") % |"
    echo "| pocketsphinx's own defaults (\`asr.pocketsphinx-options=\"\"\`) | $(r %.3f "$rtf0") | $(r %.1f "$(echo "100 * $wer0" | bc -l)") % |"
    echo
    echo "Latency: 10 sessions record in real time for $dur s (a 10 s speech chunk and a 45 KB frame every 2 s each, so one chunk per second reaches the workers), and each chunk's \`transcription\` push is timed from its \`audio_ack\` (\`loadgen --speech-dir … --transcript-wait 60\`). The server runs its defaults (\`asr.workers=0\`: one per core, $(nproc) here, at \`asr.nice=10\`; \`asr.poll-interval=1s\`)."
    echo
    echo "| chunks transcribed | missing | p50 s | p95 s | max s | real-time factor under load (/metrics) |"
    echo "|---|---|---|---|---|---|"
    echo "| $got | $miss | $(r %.2f "$p50") | $(r %.2f "$p95") | $(r %.2f "$mx") | $(r %.3f "${lrtf:-nan}") |"
    echo
    echo "| figure | number | target | |"
    echo "|---|---|---|---|"
    echo "| real-time factor per worker | $(r %.3f "$rtf") | ≤ 0.1 | $(met "$rtf" '<=' 0.1) |"
    echo "| transcript after its ack, 10 real-time sessions, p50 | $(r %.2f "$p50") s | ≤ 5 s | $(met "$p50" '<=' 5) |"
    echo "| word error rate, flite speech | $(r %.1f "$(echo "100 * $wer" | bc -l)") % | ≤ 15 % | $(met "$(echo "100 * $wer" | bc -l)" '<=' 15) |"
    echo
    echo "Commands:"; echo; echo '```'
    echo "    asr_bench --options \"$F10_OPTIONS_DEFAULT\" --write-chunks <tmp>/speech; asr_bench --options \"\""
    cmds_of "$RAW"/f10-load.cmd; echo '```'
    echo
  } >"$SEC/10.md"
}

# ============================================================================================
# From here on a failed step leaves its figure incomplete instead of aborting the report.
set +e
want 1 && fig1
want 2 && fig2
want 3 && fig3
want 5 && fig5
want 6 && fig6
want 7 && fig7
want 8 && fig8
want 10 && fig10
want 11 && fig11

# ============================================================================================
# What bounds it: the evidence gathered in the same runs, per figure whose target is not met.
# ============================================================================================
bound_block() { # title server-json sink-json
  local f=$2 k=$3
  [ -s "$f" ] || return 0
  local ips mb sc lc u sy w id dw kmb load
  ips=$(jq -r .result.items_per_s "$f"); mb=$(jq -r .result.mb_per_s "$f")
  sc=$(jq -r .host_stats.target_cpu_cores "$f"); lc=$(jq -r .host_stats.loadgen_cpu_cores "$f")
  u=$(jq -r .host_stats.machine.user_cores "$f"); sy=$(jq -r .host_stats.machine.system_cores "$f")
  w=$(jq -r .host_stats.machine.iowait_cores "$f"); id=$(jq -r .host_stats.machine.idle_cores "$f")
  dw=$(jq -r .host_stats.disk_write_mb_s "$f"); load=$(jq -r .host_stats.loadavg "$f")
  kmb=$( [ -s "$k" ] && jq -r .result.mb_per_s "$k" || echo nan)
  local kips; kips=$( [ -s "$k" ] && jq -r .result.items_per_s "$k" || echo nan)
  local amp; amp=$(ratio "$dw" "$mb")
  local us; us=$(echo "$sc * 1000000 / $ips" | bc -l)
  echo "**$1** (the median server run):"
  echo
  echo "- CPU: the server used $(r %.2f "$sc") cores and loadgen $(r %.2f "$lc"); the whole machine was $(r %.2f "$u") cores user + $(r %.2f "$sy") system busy, $(r %.2f "$w") iowait, $(r %.2f "$id") idle of $(nproc), so everything else (PostgreSQL, kernel threads, other engineers' builds) took $(r %.2f "$(echo "$u + $sy - $sc - $lc" | bc -l)") cores (load average $load). That is $(r %.0f "$us") µs of server CPU per item: $(r %.0f "$ips") items/s per $(r %.2f "$sc") cores; the sink's $(r %.0f "$kips") items/s would need $(r %.1f "$(echo "$us * $kips / 1000000" | bc -l 2>/dev/null || echo nan)") cores at that cost."
  echo "- Disk: $(r %.0f "$dw") MB/s written (all devices' writers, mostly the server) for $(r %.1f "$mb") MB/s of payload: $(r %.2f "$amp")× (each payload goes to the RocksDB WAL and to its media file; plus PostgreSQL WAL, RocksDB flushes and file metadata). This disk's ceiling, measured by the script with dd, is $(r %.0f "$DISK_MB_S") MB/s sequential with fdatasync and $(r %.0f "$DISK_FSYNC_S") flushed 4 KiB writes/s."
  if [ "$kmb" != nan ] && [ "$(echo "$mb > 50" | bc -l)" = 1 ]; then
    echo "- At $(r %.2f "$amp")× the disk caps durable payload at $(r %.0f "$(echo "$DISK_MB_S / $amp" | bc -l)") MB/s = $(r %.0f "$(echo "100 * $DISK_MB_S / $amp / $kmb" | bc -l)") % of the sink's $(r %.0f "$kmb") MB/s; writing every byte exactly once would cap it at $(r %.0f "$(echo "100 * $DISK_MB_S / $kmb" | bc -l)") %."
  fi
  local verdict
  if [ "$(echo "$id < 0.25" | bc -l)" = 1 ]; then verdict="CPU: the two cores were saturated (idle $(r %.2f "$id") cores), the server getting $(r %.2f "$sc") of them"
  elif [ "$(echo "$dw >= 0.8 * $DISK_MB_S" | bc -l)" = 1 ]; then verdict="disk bandwidth: writes at $(r %.0f "$(echo "100 * $dw / $DISK_MB_S" | bc -l)") % of the measured ceiling"
  else verdict="neither saturated: $(r %.2f "$id") cores idle and the disk at $(r %.0f "$(echo "100 * $dw / $DISK_MB_S" | bc -l)") % of its ceiling, so the bound is the per-item path (CPU per item on the threads below, serialised stages, fsync round trips) rather than a full resource"; fi
  echo "- Verdict for this run: $verdict."
  local th; th=${f%.json}.threads
  [ -s "$th" ] && echo "- Server threads (cores): $(head -n 6 "$th" | tr '\n' ';' | sed 's/;$//; s/;/, /g')."
  echo
}
{
  echo "## What bounds it"
  echo
  if [ -n "${F1_RATIO:-}" ]; then
    bound_block "Figure 1, default mix" "$(median_file "$RAW"/f1-server-*.json)" "$(median_file "$RAW"/f1-sink-*.json)"
    [ -s "$RAW/f1-profile.txt" ] && { echo "Top of the server profile under this load (section 1 has the full list):"; echo; echo '```'; head -n 8 "$RAW/f1-profile.txt"; echo '```'; echo; }
  fi
  [ -n "${F2_SERVER_IPS:-}" ] && bound_block "Figure 2, 1 KiB items" "$(median_file "$RAW"/f2-server-*.json)" "$(median_file "$RAW"/f2-sink-*.json)"
  if [ -n "${F1_SERVER_IPS:-}" ] && ls "$RAW"/f7-*.json >/dev/null 2>&1; then
    smb=$(jmed .result.mb_per_s "$RAW"/f1-server-*.json)
    echo "**Figure 7, real time**: offered load vs the durable capacity of figure 1 ($(r %.0f "$smb") MB/s, $(r %.0f "$F1_SERVER_IPS") items/s at max pace):"
    for c in $F7_CASES; do n=${c%%:*}; echo "- $n sessions offer ~$(r %.0f "$(echo "$n * 38.5 / 1000" | bc -l)") MB/s ($(r %.0f "$(echo "$n * 0.6" | bc -l)") items/s): $(r %.0f "$(echo "100 * $n * 38.5 / 1000 / $smb" | bc -l)") % of that capacity."; done
    echo
  fi
} >"$SEC/9.md"

T_END=$(date +%s)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
commit=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | wc -l)
{
  echo "# mediaspool benchmark report"
  echo
  echo "Generated by \`bench/scripts/report.sh$([ "$QUICK" = 1 ] && echo " --quick")\` on $(date -u '+%Y-%m-%d %H:%M UTC') in $(( (T_END - T_START) / 60 )) min $(( (T_END - T_START) % 60 )) s. Each figure is the median of $RUNS run(s) unless it says otherwise; raw loadgen JSON, summaries, thread splits and server logs are in \`bench/results/raw/\`."
  echo
  echo "| machine | |"
  echo "|---|---|"
  echo "| mediaspool binary | built $BIN_STAMP (copied at the start of the suite) |"
  echo "| commit | $commit$([ "$dirty" -gt 0 ] && echo " (+ $dirty modified tracked files)") |"
  echo "| CPU | $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), nproc $(nproc) |"
  echo "| RAM | $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) |"
  echo "| kernel | $(uname -r) |"
  echo "| disk | $DISK ($(cat /sys/block/"$DISK"/queue/rotational 2>/dev/null | sed 's/0/non-rotational/; s/1/rotational/'), root ext4 mounted with \`$(findmnt -no OPTIONS -T /tmp | tr ',' ' ' | grep -o discard | head -n1)\`): $(fmt %.0f "$DISK_MB_S") MB/s sequential with fdatasync, $(fmt %.0f "$DISK_FSYNC_S") flushed 4 KiB writes/s (dd, in /tmp where the spools live) |"
  echo "| spool + media | $([ "$USE_LOOP" = 1 ] && echo "spool (RocksDB) in /tmp on $DISK; media files on a fresh ext4 (nodiscard) in a loop device with direct I/O whose image is in /tmp on $DISK, so deleting a run's hundreds of thousands of files is cheap (flushes still reach $DISK; dd there: $(fmt %.0f "$MEDIA_MB_S") MB/s, $(fmt %.0f "$MEDIA_FSYNC_S") flushed 4 KiB writes/s)" || echo "/tmp on $DISK") |"
  echo "| PostgreSQL | $(pgq 'SHOW server_version' postgres 2>/dev/null || echo 15), private cluster var/pg-bench, fsync=$(pgq 'SHOW fsync' postgres 2>/dev/null || echo on), synchronous_commit=$(pgq 'SHOW synchronous_commit' postgres 2>/dev/null || echo on) |"
  echo "| load average | $LOAD_START at the start, $LOAD_END at the end (other engineers build on the same 2 cores: numbers are lower bounds) |"
  echo
  echo "## Summary"
  echo
  echo "| # | target | number | |"
  echo "|---|---|---|---|"
  [ -n "${F1_RATIO:-}" ] && echo "| 1 | durable ≥ 75 % of the sink, 50 sessions window 4 | $(r %.1f "$F1_RATIO") % ($(r %.0f "$F1_SERVER_IPS") vs $(r %.0f "$F1_SINK_IPS") items/s) | $(met "$F1_RATIO" '>=' 75) |"
  [ -n "${F2_SERVER_IPS:-}" ] && echo "| 2 | ≥ 50,000 durable items/s, 1 KiB | $(r %.0f "$F2_SERVER_IPS") items/s (sink $(r %.0f "$F2_SINK_IPS")) | $(met "$F2_SERVER_IPS" '>=' 50000) |"
  [ -n "${F7_LAST:-}" ] && echo "| 3 | real time, p99 ≤ 100 ms, 0 missing (bounded cases, see 7) | $F7_LAST | see 7 |"
  [ -n "${F5_LAT_RATIO:-}" ] && echo "| 4 | flat cost ≤ 1.2× (ack p50, WAL/item) | $(r %.2f "$F5_LAT_RATIO")×, $(r %.2f "$F5_WAL_RATIO")× | $(met "$F5_LAT_RATIO" '<=' 1.2), $(met "$F5_WAL_RATIO" '<=' 1.2) |"
  [ -n "${F6_KB:-}" ] && echo "| 5 | ≤ 16 KB RSS per idle session | $(r %.2f "$F6_KB") KB | $(met "$F6_KB" '<=' 16) |"
  [ -n "${F8_READY:-}" ] && echo "| 6 | recovery: ready ≤ 2 s, drained ≤ 10 s | $(r %.2f "$F8_READY") s, $(r %.2f "$F8_DRAINED") s | $(met "$F8_READY" '<=' 2), $(met "$F8_DRAINED" '<=' 10) |"
  [ -n "${F10_RTF:-}" ] && echo "| T1 | transcription real-time factor ≤ 0.1 per worker | $(r %.3f "$F10_RTF") | $(met "$F10_RTF" '<=' 0.1) |"
  [ -n "${F10_P50:-}" ] && echo "| T2 | transcript ≤ 5 s (p50) after its ack, 10 real-time sessions | $(r %.2f "$F10_P50") s, $F10_MISS missing | $(met "$F10_P50" '<=' 5) |"
  [ -n "${F10_WER:-}" ] && echo "| T3 | word error rate ≤ 15 % on flite speech | $(r %.1f "$F10_WER") % | $(met "$F10_WER" '<=' 15) |"
  echo
  for n in 1 2 3 4 5 6 7 8 10 11; do [ -f "$SEC/$n.md" ] && cat "$SEC/$n.md"; done
  [ -f "$SEC/9.md" ] && cat "$SEC/9.md"
  echo "## Reproduce"
  echo
  echo '```'
  echo "bench/scripts/report.sh$([ "$QUICK" = 1 ] && echo " --quick")   # as root; full suite: no flag (3 runs per figure)"
  echo '```'
  echo
  echo "Server flags in every run: \`mediaspool --server.host=127.0.0.1 --server.port=0 --server.port-file=<tmp>/port --spool.path=<tmp>/spool --media.root=<tmp>/media --db.url=$(pg_url)\` (a fresh spool, media root and database \`$PGDB\` per server). Sink: \`sink --host 127.0.0.1 --port 0 --port-file <tmp>/sink.port\`."
} >"$OUT/REPORT.md"
mkdir -p "$OUT_FINAL"
rm -rf "$OUT_FINAL/raw" "$OUT_FINAL"/*.png "$OUT_FINAL/REPORT.md"
cp -r "$OUT"/. "$OUT_FINAL"/
log "wrote $OUT_FINAL/REPORT.md ($(( (T_END - T_START) / 60 )) min $(( (T_END - T_START) % 60 )) s)"

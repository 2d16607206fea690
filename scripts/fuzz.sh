#!/usr/bin/env bash
# Fuzzes one target (or all) with libFuzzer, ASan and UBSan, in a clang build of its own
# (build-fuzz/). It starts from the seed corpus tests/fuzz/corpus/<target>/ (which the normal test
# command replays) and writes new inputs to build-fuzz/corpus/<target>/; a crash leaves crash-*
# in build-fuzz/artifacts/ (fix it, then copy it into tests/fuzz/corpus/<target>/ as a
# regression input). To keep a small set of new inputs:
#   build-fuzz/tests/fuzz/fuzz_<t> -merge=1 tests/fuzz/corpus/<t> build-fuzz/corpus/<t>
#
#   scripts/fuzz.sh [codec|jwt|http_range|pairing|all] [libFuzzer flags...]
#   scripts/fuzz.sh all -runs=10000000 -max_len=512   # the issue-6 bar: 10^7 executions per target
#                                                      (pairing slows 4x with inputs past 512 bytes)
#   scripts/fuzz.sh jwt -max_total_time=600
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh" >/dev/null   # the project's packages (headers the targets include)
missing=()
for p in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "fuzz: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi
target=${1:-all}; shift || true
[ $# -gt 0 ] || set -- -max_total_time=60
cmake -S "$root" -B "$root/build-fuzz" -DMEDIASPOOL_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
targets=(codec jwt http_range pairing)
[ "$target" = all ] || targets=("$target")
cmake --build "$root/build-fuzz" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"
mkdir -p "$root/build-fuzz/artifacts"
for t in "${targets[@]}"; do
  echo "fuzz: $t $*"
  mkdir -p "$root/build-fuzz/corpus/$t"
  log=$root/build-fuzz/fuzz-$t.log
  rc=0
  "$root/build-fuzz/tests/fuzz/fuzz_$t" -artifact_prefix="$root/build-fuzz/artifacts/$t-" -print_final_stats=1 \
    "$@" "$root/build-fuzz/corpus/$t" "$root/tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  grep -E "^(#[0-9]+[[:space:]]+(DONE|INITED)|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|==[0-9]+==ERROR|SUMMARY)" "$log" || true
  [ "$rc" = 0 ] || { echo "fuzz: $t FAILED (exit $rc; log $log, inputs in build-fuzz/artifacts/)"; tail -n 30 "$log"; exit 1; }
done

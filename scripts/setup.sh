#!/usr/bin/env bash
# Installs what is missing (Debian packages only; idempotent and quick when all is present)
# and builds mediaspool into build/. Sourced by run.sh and test.sh.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

packages=(g++ cmake make pkg-config ccache
  libcaf-dev libboost-dev libpqxx-dev librocksdb-dev libxxhash-dev libssl-dev libtcmalloc-minimal4
  doctest-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  postgresql postgresql-client
  libavformat-dev libavcodec-dev libswresample-dev libavutil-dev
  pocketsphinx-en-us libpocketsphinx-dev libsphinxbase-dev flite ffmpeg
  chromium haproxy)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build_type=${MEDIASPOOL_BUILD_TYPE:-RelWithDebInfo}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE="$build_type" \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build "$root/build" -j"$(nproc)"

#!/usr/bin/env bash
# Installs what is missing, builds, and runs the server on 127.0.0.1:8080.
# Without MEDIASPOOL_DB_URL it starts its own PostgreSQL cluster under var/pg (port 55432).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/setup.sh"
mkdir -p "$root/var/media" "$root/var/spool"
if [ -z "${MEDIASPOOL_DB_URL:-}" ]; then
  "$root/scripts/pg.sh" start "$root/var/pg" 55432
  export MEDIASPOOL_DB_URL=$("$root/scripts/pg.sh" url "$root/var/pg" 55432)
fi
cd "$root"
exec "$root/build/src/mediaspool" --config-file="$root/config/mediaspool.ini" "$@"

#!/usr/bin/env bash
# A private PostgreSQL 15 cluster owned by the 'postgres' user, on a private port and socket folder.
#   scripts/pg.sh start <dir> <port> [extra postgres -c options...]   creates (once) and starts it
#   scripts/pg.sh stop  <dir> [fast|immediate]                         stops it (default fast;
#                                                                      immediate = a crash)
#   scripts/pg.sh url   <dir> <port> [dbname]                          prints the libpq URL
set -euo pipefail
cmd=$1; dir=$(realpath -m "$2")
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
as_pg() { runuser -u postgres -- "$@"; }

# postgres must be able to traverse every ancestor of the cluster folder (a clone under a
# mktemp -d folder is 0700): grant search (x) only, never read, where it is missing.
grant_traverse() {
  local d=$1
  while [ "$d" != "/" ]; do
    d=$(dirname "$d")
    as_pg test -x "$d" 2>/dev/null || chmod o+x "$d"
  done
}

case "$cmd" in
  start)
    port=$3; shift 3
    mkdir -p "$dir/sock"
    grant_traverse "$dir"
    chown -R postgres:postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg "$pgbin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
        --no-instructions >"$dir/initdb.log"
    fi
    if as_pg "$pgbin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      echo "pg: already running in $dir"
    else
      opts="-p $port -k $dir/sock -c listen_addresses=''"
      for o in "$@"; do opts="$opts -c $o"; done
      as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$opts" start >/dev/null
    fi
    as_pg "$pgbin/psql" -h "$dir/sock" -p "$port" -U postgres -tAc \
      "select 1 from pg_database where datname='mediaspool'" | grep -q 1 ||
      as_pg "$pgbin/createdb" -h "$dir/sock" -p "$port" -U postgres mediaspool
    ;;
  stop)
    as_pg "$pgbin/pg_ctl" -D "$dir/data" -w -m "${3:-fast}" stop >/dev/null 2>&1 || true
    ;;
  url)
    echo "postgresql://postgres@/${4:-mediaspool}?host=$dir/sock&port=$3"
    ;;
  *) echo "usage: pg.sh start|stop|url <dir> ..." >&2; exit 2 ;;
esac

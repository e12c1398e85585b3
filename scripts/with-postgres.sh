#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL on 127.0.0.1 (free port, mktemp -d, run as the
# postgres user), exported as FLOE_TEST_POSTGRES_URL; the server is stopped afterwards.
set -euo pipefail
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  echo "PostgreSQL is not installed: run 'make system-deps' (apt-get install postgresql)" >&2
  exit 2
fi
PGPORT="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
PGROOT="$(mktemp -d /tmp/floe-pg.XXXXXX)"
chmod 755 "$PGROOT"
RUNAS=()
if [ "$(id -u)" = "0" ]; then
  chown postgres:postgres "$PGROOT"
  RUNAS=(runuser -u postgres --)
fi
stop() {
  "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PGROOT"
}
trap stop EXIT
"${RUNAS[@]}" "$PGBIN/initdb" -D "$PGROOT/data" -U postgres -A trust -E UTF8 --no-sync >"$PGROOT/initdb.log"
"${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w -t 30 start \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGROOT -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
"$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 -q \
  -c "CREATE ROLE ledger LOGIN PASSWORD 'ledger' CREATEDB" -c "CREATE DATABASE ledger OWNER ledger"
export FLOE_TEST_POSTGRES_URL="postgresql://ledger:ledger@127.0.0.1:$PGPORT/ledger"
set +e
"$@"
rc=$?
set -e
# pytest exit 5 means no tests ran: that is a failure for CI.
exit $rc

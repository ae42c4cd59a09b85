#!/usr/bin/env bash
# Start/stop a throwaway PostgreSQL cluster on 127.0.0.1 for the test suite.
#   eval "$(scripts/pg-test-server.sh start)"   -> exports STRATUSEC_TEST_PG_URL
#   scripts/pg-test-server.sh stop
# Needs Debian's postgresql package (installed by .ci/run when missing).
set -euo pipefail
DIR=${STRATUSEC_PG_DIR:-/tmp/stratusec-pg}
PORT=${STRATUSEC_PG_PORT:-54329}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$BIN" ] || { echo "postgresql is not installed (apt-get install postgresql)" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    if [ ! -f "$DIR/PG_VERSION" ]; then
      mkdir -p "$DIR"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
      as_pg "$BIN/initdb" -D "$DIR" -U postgres -A trust --no-sync >/dev/null
    fi
    # The tests' admin (postgres) is trusted on loopback; every other role must log in
    # with its password, so that a temporary role's VALID UNTIL (its expiry) applies.
    # Written every time (an older cluster in $DIR may trust everyone), then reloaded.
    as_pg sh -c "printf '%s\n' \
      'local all postgres trust' \
      'host all postgres 127.0.0.1/32 trust' \
      'local all all scram-sha-256' \
      'host all all 127.0.0.1/32 scram-sha-256' > '$DIR/pg_hba.conf'"
    if as_pg "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
      as_pg "$BIN/pg_ctl" -D "$DIR" reload >/dev/null
    fi
    if ! as_pg "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
      as_pg "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w \
        -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
    fi
    as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname='stratusec_test'" | grep -q 1 ||
      as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE DATABASE stratusec_test" >/dev/null
    echo "export STRATUSEC_TEST_PG_URL=postgresql://postgres@127.0.0.1:$PORT/stratusec_test"
    ;;
  stop)
    as_pg "$BIN/pg_ctl" -D "$DIR" -m fast stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

#!/bin/sh
# Run a command with a PostgreSQL server of its own on loopback, for the tests:
#   sh scripts/with-postgres.sh .venv/bin/python -m pytest
# Installs Debian's postgresql with apt-get when missing (as root), creates a cluster in a
# temporary folder (initdb refuses root: as root it runs as the postgres user), starts it on a
# free port with its socket in that folder, exports its URL as NNFIT_TEST_POSTGRES, runs the
# command, and stops the server by its data folder and removes it at the end, even when the
# command fails or is interrupted. Without PostgreSQL outside CI the command runs anyway and the
# tests that need it are skipped with a reason; in CI (CI=true) that is an error.
set -eu

fail_or_skip() {
    message=$1
    shift
    if [ "${CI:-}" = "true" ]; then
        echo "with-postgres: $message" >&2
        exit 1
    fi
    echo "with-postgres: $message; tests that need PostgreSQL will be skipped" >&2
    exec "$@"
}

bindir() {
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$found" ] && [ -x "$found/initdb" ]; then
        echo "$found"
    elif command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
    fi
}

BIN=$(bindir)
if [ -z "$BIN" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing system packages: postgresql"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        BIN=$(bindir)
    fi
fi
if [ -z "$BIN" ]; then
    fail_or_skip "PostgreSQL is not installed (Debian/Ubuntu: sudo apt-get install postgresql)" "$@"
fi

DATA=$(mktemp -d /tmp/nnfit-pg.XXXXXX)
as_owner() { "$@"; }
if [ "$(id -u)" = 0 ]; then
    chown postgres "$DATA"
    as_owner() { runuser -u postgres -- "$@"; }
fi
stop() {
    as_owner "$BIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$DATA"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_owner "$BIN/initdb" -D "$DATA" --auth=trust -U postgres >"$DATA.log" 2>&1 ||
    { cat "$DATA.log" >&2; rm -f "$DATA.log"; exit 1; }
rm -f "$DATA.log"
as_owner "$BIN/pg_ctl" -w -D "$DATA" -l "$DATA/server.log" \
    -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
export NNFIT_TEST_POSTGRES="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
echo "PostgreSQL on 127.0.0.1:$PORT for the tests ($DATA)"
status=0
"$@" || status=$?
exit $status

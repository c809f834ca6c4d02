#!/usr/bin/env bash
# A private PostgreSQL for the tests and for trying a scale-out setup on one machine.
#   scripts/postgres.sh install   Debian's postgresql server package, if missing
#   scripts/postgres.sh start     a fresh cluster in $PG_HOME/data on 127.0.0.1:$PG_PORT (trust auth, local only)
#   scripts/postgres.sh stop | status | url
# Settings: PG_HOME (default <repo>/.postgres, git-ignored; as root, under /tmp when the postgres user
#   can't reach the repo), PG_PORT (55432), PG_KEEP_DATA=1 keeps the data.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PG_PORT=${PG_PORT:-55432}

# As root the server runs as the postgres user, which must reach its folder: a clone under /root
# (mode 700) is out of its reach, so the cluster then lives under /tmp, named after the clone.
locate() {
    if [ -z "${PG_HOME:-}" ] && [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 \
        && ! (cd / && runuser -u postgres -- test -x "$REPO"); then
        PG_HOME=/tmp/deepfake-guard-postgres-$(printf %s "$REPO" | cksum | cut -d ' ' -f 1)
    fi
    PG_HOME=${PG_HOME:-$REPO/.postgres}
    DATA=$PG_HOME/data
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# PostgreSQL refuses to run as root: as root, run its tools as the postgres user.
as_owner() {
    # From /: the postgres user may not be allowed into the caller's folder (paths here are absolute).
    if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

install() {
    if [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ]; then
        echo "postgresql: installed ($(pg_bin))"
        return
    fi
    [ "$(id -u)" = 0 ] || { echo "postgresql is not installed; run this as root to install it" >&2; exit 1; }
    local started=$SECONDS
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    # Debian starts a system cluster on 5432; we use our own private one, so stop that one.
    (command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | while read -r version name _; do
        pg_ctlcluster "$version" "$name" stop 2>/dev/null || true; done) || true
    echo "postgresql: installed in $((SECONDS - started)) s ($(pg_bin))"
}

url() { echo "postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"; }

start() {
    install
    locate
    local bin started=$SECONDS
    bin=$(pg_bin)
    stop >/dev/null 2>&1 || true
    if [ "${PG_KEEP_DATA:-0}" != 1 ]; then rm -rf "$DATA"; fi
    mkdir -p "$PG_HOME/socket"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$PG_HOME"
    if [ ! -f "$DATA/PG_VERSION" ]; then
        as_owner "$bin/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --no-instructions >"$PG_HOME/initdb.log"
    fi
    as_owner "$bin/pg_ctl" -D "$DATA" -l "$PG_HOME/postgres.log" -w -t 60 \
        -o "-p $PG_PORT -k $PG_HOME/socket -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
    echo "postgresql: ready on $(url) in $((SECONDS - started)) s"
}

stop() {
    locate
    local bin
    bin=$(pg_bin)
    [ -n "$bin" ] && [ -f "$DATA/postmaster.pid" ] || { echo "postgresql: not running"; return 0; }
    as_owner "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
    echo "postgresql: stopped"
}

status() {
    locate
    local bin
    bin=$(pg_bin)
    [ -n "$bin" ] && as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1 && { echo "running: $(url)"; return 0; }
    echo "not running"
    return 1
}

case "${1:-}" in
    install|start|stop|status|url) "$1" ;;
    *) sed -n '2,7p' "$0"; exit 2 ;;
esac

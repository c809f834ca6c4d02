#!/usr/bin/env bash
# A private Redis for the tests and for trying a multi-host setup on one machine (Debian's redis-server).
#   scripts/redis.sh install   Debian's redis-server package, if missing (as root)
#   scripts/redis.sh start     a fresh server on 127.0.0.1:$REDIS_PORT, nothing saved to disk
#   scripts/redis.sh stop | status | url
# Settings: REDIS_HOME (default <repo>/.redis, git-ignored), REDIS_PORT (56379).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
REDIS_HOME=${REDIS_HOME:-$REPO/.redis}
REDIS_PORT=${REDIS_PORT:-56379}

install() {
    if command -v redis-server >/dev/null; then
        echo "redis: installed"
        return
    fi
    [ "$(id -u)" = 0 ] || { echo "redis-server is not installed; run this as root to install it" >&2; exit 1; }
    local started=$SECONDS
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
    # Debian starts a system server on 6379 where it can; we use our own private one.
    (command -v systemctl >/dev/null && systemctl stop redis-server 2>/dev/null) || true
    echo "redis: installed in $((SECONDS - started)) s"
}

url() { echo "redis://127.0.0.1:$REDIS_PORT"; }

start() {
    install
    stop >/dev/null 2>&1 || true
    local started=$SECONDS
    mkdir -p "$REDIS_HOME"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --protected-mode yes \
        --dir "$REDIS_HOME" --pidfile "$REDIS_HOME/redis.pid" --logfile "$REDIS_HOME/redis.log" --daemonize yes
    for _ in $(seq 1 50); do
        if redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
            echo "redis: ready on $(url) in $((SECONDS - started)) s"
            return
        fi
        sleep 0.2
    done
    echo "redis: not ready; log in $REDIS_HOME/redis.log" >&2
    exit 1
}

stop() {
    if redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1; then echo "redis: stopped"; else echo "redis: not running"; fi
}

status() {
    if redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then echo "running: $(url)"; return 0; fi
    echo "not running"
    return 1
}

case "${1:-}" in
    install|start|stop|status|url) "$1" ;;
    *) sed -n '2,6p' "$0"; exit 2 ;;
esac

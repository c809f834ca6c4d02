#!/usr/bin/env bash
# A private S3-compatible object store for the tests and for trying a multi-host setup on one machine:
# OpenStack Swift from Debian's packages with its s3api middleware, one node, one replica, loopback only.
#   scripts/swift.sh install   Debian's swift packages, if missing (as root)
#   scripts/swift.sh start     fresh rings and data in $SWIFT_HOME on 127.0.0.1:$SWIFT_PORT (S3 and Swift API)
#   scripts/swift.sh stop | status | url | env
# `env` prints the variables a server needs (DFG_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
# Settings: SWIFT_HOME (default <repo>/.swift, git-ignored), SWIFT_PORT (58080; the account, container and
#   object servers use SWIFT_PORT-3 .. SWIFT_PORT-1). Test credentials: access key test:tester, secret testing.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SWIFT_HOME=${SWIFT_HOME:-$REPO/.swift}
SWIFT_PORT=${SWIFT_PORT:-58080}
ACCOUNT_PORT=$((SWIFT_PORT - 3)) CONTAINER_PORT=$((SWIFT_PORT - 2)) OBJECT_PORT=$((SWIFT_PORT - 1))
CONF=$SWIFT_HOME/etc

install() {
    if command -v swift-proxy-server >/dev/null && command -v swift-object-server >/dev/null; then
        echo "swift: installed"
        return
    fi
    [ "$(id -u)" = 0 ] || { echo "swift is not installed; run this as root to install it" >&2; exit 1; }
    local started=$SECONDS
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        swift swift-proxy swift-account swift-container swift-object >/dev/null
    echo "swift: installed in $((SECONDS - started)) s"
}

url() { echo "http://127.0.0.1:$SWIFT_PORT"; }

env() {
    echo "DFG_S3_ENDPOINT_URL=$(url)"
    echo "AWS_ACCESS_KEY_ID=test:tester"
    echo "AWS_SECRET_ACCESS_KEY=testing"
}

# Swift reads swift.conf from /etc/swift whatever swift_dir says; Debian ships it with a placeholder hash.
hash_config() {
    if [ -f /etc/swift/swift.conf ] && grep -Eq '^swift_hash_path_suffix *= *[^ ]' /etc/swift/swift.conf \
        && ! grep -Eq '^swift_hash_path_suffix *= *changeme *$' /etc/swift/swift.conf; then
        return
    fi
    [ "$(id -u)" = 0 ] || { echo "/etc/swift/swift.conf needs a hash suffix; run this as root" >&2; exit 1; }
    mkdir -p /etc/swift
    cat >/etc/swift/swift.conf <<EOF
[swift-hash]
swift_hash_path_suffix = deepfake-guard-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
swift_hash_path_prefix = deepfake-guard

[storage-policy:0]
name = Policy-0
default = yes
EOF
}

server_conf() {   # server_conf NAME PORT
    cat >"$CONF/$1-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $2
devices = $SWIFT_HOME/srv
mount_check = false
workers = 0
user = $(id -un)
swift_dir = $CONF
recon_cache_path = $SWIFT_HOME/cache
log_level = WARNING

[pipeline:main]
pipeline = $1-server

[app:$1-server]
use = egg:swift#$1
EOF
}

proxy_conf() {
    cat >"$CONF/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $SWIFT_PORT
workers = 0
user = $(id -un)
swift_dir = $CONF
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
EOF
}

rings() {
    local kind port
    for kind in account container object; do
        case $kind in account) port=$ACCOUNT_PORT ;; container) port=$CONTAINER_PORT ;; object) port=$OBJECT_PORT ;; esac
        (cd "$CONF" && swift-ring-builder "$kind.builder" create 10 1 1 >/dev/null \
            && swift-ring-builder "$kind.builder" add "r1z1-127.0.0.1:$port/d1" 100 >/dev/null \
            && swift-ring-builder "$kind.builder" rebalance >/dev/null)
    done
}

healthy() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$(url)/healthcheck" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
    install
    hash_config
    stop >/dev/null 2>&1 || true
    local started=$SECONDS name
    rm -rf "$SWIFT_HOME"
    mkdir -p "$CONF" "$SWIFT_HOME/srv/d1" "$SWIFT_HOME/cache" "$SWIFT_HOME/run"
    server_conf account "$ACCOUNT_PORT"
    server_conf container "$CONTAINER_PORT"
    server_conf object "$OBJECT_PORT"
    proxy_conf
    rings
    for name in account container object proxy; do
        # Plain processes logging to a file (-v: to stdout; there is no /dev/log to send them to).
        nohup "swift-$name-server" "$CONF/$name-server.conf" -v >"$SWIFT_HOME/$name.log" 2>&1 &
        echo $! >"$SWIFT_HOME/run/$name.pid"
    done
    for _ in $(seq 1 120); do
        # The proxy's health check, and the three storage servers taking connections (tempauth's own
        # /auth/v1.0 tokens would need memcached; S3 requests are signed and need none).
        if healthy && port_open "$ACCOUNT_PORT" && port_open "$CONTAINER_PORT" \
            && port_open "$OBJECT_PORT"; then
            echo "swift: ready on $(url) in $((SECONDS - started)) s"
            return
        fi
        sleep 0.5
    done
    echo "swift: not ready after 60 s; logs in $SWIFT_HOME/*.log" >&2
    tail -n 20 "$SWIFT_HOME"/*.log >&2 || true
    exit 1
}

stop() {
    local name pid stopped=0
    for name in proxy object container account; do
        [ -f "$SWIFT_HOME/run/$name.pid" ] || continue
        pid=$(cat "$SWIFT_HOME/run/$name.pid")
        kill "$pid" 2>/dev/null && stopped=1
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$SWIFT_HOME/run/$name.pid"
    done
    if [ $stopped = 1 ]; then echo "swift: stopped"; else echo "swift: not running"; fi
}

status() {
    if healthy; then echo "running: $(url)"; return 0; fi
    echo "not running"
    return 1
}

case "${1:-}" in
    install|start|stop|status|url|env) "$1" ;;
    *) sed -n '2,9p' "$0"; exit 2 ;;
esac

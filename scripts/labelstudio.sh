#!/usr/bin/env bash
# Install, start and stop a local Label Studio server for Deepfake Guard development and tests.
#
# Usage: scripts/labelstudio.sh {install|start|stop|restart|status|env|logs|wipe} [--wipe] [--yes] [-h]
#
#   install   create a separate venv ($LS_HOME/venv) with label-studio (idempotent)
#   start     start the server in the background on 127.0.0.1:$LS_PORT with its data folder
#             ($LS_HOME/data: projects, tasks, annotations, uploaded images; KEPT across starts),
#             an admin user and a known API token; waits until the API answers with that token.
#             Installs first when needed; a server already started by this script is stopped first.
#             Prints the URL on stdout.
#   stop      stop the server started by `start` (pid file; TERM, then KILL after $LS_STOP_TIMEOUT s)
#   restart   stop, then start (the data is kept)
#   wipe      stop the server and delete $LS_HOME/data: every project, task and annotation.
#             Asks for confirmation on a terminal; --yes confirms without asking (needed without one).
#   --wipe    with start or restart: wipe first (same confirmation), then start with an empty folder
#   status    print whether it runs and whether the API answers (exit 0 running, 1 down, 3 unhealthy)
#   env       print `export DFG_LABEL_STUDIO_URL=...` lines; use: eval "$(scripts/labelstudio.sh env)"
#   logs      print the last lines of the server log
#
# Settings (environment):
#   LS_HOME         state folder (default: <repo>/.labelstudio, git-ignored)
#   LS_VENV         venv for the server (default: $LS_HOME/venv)
#   LS_VERSION      pip version spec (default: 1.23.*)
#   LS_PYTHON       Python used to create the venv (default: python3)
#   LS_HOST         bind address (default: 127.0.0.1)
#   LS_PORT         port (default: 8080)
#   LS_USERNAME     admin user email (default: admin@example.com)
#   LS_PASSWORD     admin password (default: dfg-admin-password)
#   LS_TOKEN        admin API token (legacy `Authorization: Token <t>`; default: fixed dev token)
#   LS_START_TIMEOUT  seconds to wait for the API (default: 180)
#   LS_STOP_TIMEOUT   seconds to wait after TERM before KILL (default: 20)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd)"

LS_HOME="${LS_HOME:-$REPO/.labelstudio}"
LS_VENV="${LS_VENV:-$LS_HOME/venv}"
LS_VERSION="${LS_VERSION:-1.23.*}"
LS_PYTHON="${LS_PYTHON:-python3}"
LS_HOST="${LS_HOST:-127.0.0.1}"
LS_PORT="${LS_PORT:-8080}"
LS_USERNAME="${LS_USERNAME:-admin@example.com}"
LS_PASSWORD="${LS_PASSWORD:-dfg-admin-password}"
LS_TOKEN="${LS_TOKEN:-dfgdevtoken0123456789abcdef0123456789abcd}"
LS_START_TIMEOUT="${LS_START_TIMEOUT:-180}"
LS_STOP_TIMEOUT="${LS_STOP_TIMEOUT:-20}"

DATA_DIR="$LS_HOME/data"
PID_FILE="$LS_HOME/labelstudio.pid"
LOG_FILE="$LS_HOME/labelstudio.log"
URL="http://$LS_HOST:$LS_PORT"

log() { printf '[labelstudio] %s\n' "$*" >&2; }
die() { printf '[labelstudio] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

# A Python for small helper calls (HTTP probes): the server venv's if present, else the system one.
helper_python() {
  if [[ -x "$LS_VENV/bin/python" ]]; then echo "$LS_VENV/bin/python"; else echo "$LS_PYTHON"; fi
}

is_installed() {
  [[ -x "$LS_VENV/bin/label-studio" ]] || return 1
  "$LS_VENV/bin/python" - "$LS_VERSION" <<'PY' >/dev/null 2>&1
import sys, fnmatch
from importlib.metadata import version
sys.exit(0 if fnmatch.fnmatch(version("label-studio"), sys.argv[1]) else 1)
PY
}

installed_version() {
  "$LS_VENV/bin/python" -c 'from importlib.metadata import version; print(version("label-studio"))'
}

cmd_install() {
  if is_installed; then
    log "label-studio $(installed_version) already installed in $LS_VENV (skipping)"
    return 0
  fi
  command -v "$LS_PYTHON" >/dev/null || die "$LS_PYTHON not found (need python3 with venv and pip)"
  local t0; t0="$(now)"
  mkdir -p "$LS_HOME"
  if [[ -x "$LS_VENV/bin/python" ]] && ! "$LS_VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    log "removing broken venv $LS_VENV (no pip)"
    rm -rf "$LS_VENV"
  fi
  if [[ ! -x "$LS_VENV/bin/python" ]]; then
    log "creating venv $LS_VENV"
    if ! "$LS_PYTHON" -m venv "$LS_VENV"; then
      rm -rf "$LS_VENV"
      die "could not create a venv with $LS_PYTHON (on Debian: apt-get install python3-venv)"
    fi
  fi
  log "upgrading pip in the venv"
  "$LS_VENV/bin/python" -m pip install --quiet --upgrade pip
  local pip_log="$LS_HOME/pip-install.log"
  log "pip install 'label-studio==$LS_VERSION' (about 1 GB; a minute or more; full output: $pip_log)"
  if ! "$LS_VENV/bin/python" -m pip install --progress-bar off "label-studio==$LS_VERSION" \
    >"$pip_log" 2>&1; then
    grep -v '^WARNING: Location' "$pip_log" | tail -n 30 >&2 || true
    die "pip install label-studio==$LS_VERSION failed (see $pip_log)"
  fi
  is_installed || die "label-studio==$LS_VERSION is not importable from $LS_VENV after pip install"
  log "installed label-studio $(installed_version) in $(elapsed "$t0") s"
}

read_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid; pid="$(tr -dc '0-9' <"$PID_FILE")"
  [[ -n "$pid" ]] || return 1
  echo "$pid"
}

is_running() {
  local pid; pid="$(read_pid)" || return 1
  kill -0 "$pid" 2>/dev/null
}

# Exit 0 when GET /api/current-user/whoami answers 200 with the token; prints the HTTP status or error.
probe_api() {
  "$(helper_python)" - "$URL" "$LS_TOKEN" <<'PY'
import sys, urllib.request, urllib.error
url, token = sys.argv[1], sys.argv[2]
req = urllib.request.Request(url + "/api/current-user/whoami",
                             headers={"Authorization": "Token " + token})
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        print(r.status); sys.exit(0 if r.status == 200 else 1)
except urllib.error.HTTPError as e:
    print(e.code); sys.exit(2)
except Exception as e:
    print(type(e).__name__); sys.exit(1)
PY
}

port_in_use() {
  "$(helper_python)" - "$LS_HOST" "$LS_PORT" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(1)
sys.exit(0 if s.connect_ex((sys.argv[1], int(sys.argv[2]))) == 0 else 1)
PY
}

rss_kb() {  # RSS of the process tree rooted at $1, in kB
  local root="$1" total=0 p kids
  local queue=("$root")
  while ((${#queue[@]})); do
    p="${queue[0]}"; queue=("${queue[@]:1}")
    if [[ -r "/proc/$p/status" ]]; then
      total=$((total + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
    fi
    kids="$(cat /proc/"$p"/task/*/children 2>/dev/null || true)"
    for k in $kids; do queue+=("$k"); done
  done
  echo "$total"
}

cmd_start() {
  if is_running; then
    log "already running (pid $(read_pid)); stopping it first"
    cmd_stop
  fi
  cmd_install
  if port_in_use; then
    die "$LS_HOST:$LS_PORT is already in use by another process (set LS_PORT)"
  fi
  mkdir -p "$LS_HOME"
  if [[ -d "$DATA_DIR" ]]; then
    log "keeping the data in $DATA_DIR (scripts/labelstudio.sh wipe deletes it)"
  fi
  mkdir -p "$DATA_DIR"
  : >"$LOG_FILE"

  local t0; t0="$(now)"
  log "starting label-studio on $URL (data $DATA_DIR, log $LOG_FILE)"
  # `setsid` puts the server in its own session/process group so `stop` can signal the whole group.
  (
    cd "$LS_HOME"
    export LABEL_STUDIO_BASE_DATA_DIR="$DATA_DIR"
    export LABEL_STUDIO_USERNAME="$LS_USERNAME"
    export LABEL_STUDIO_PASSWORD="$LS_PASSWORD"
    export LABEL_STUDIO_USER_TOKEN="$LS_TOKEN"
    export LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true
    export LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK=true
    # no outside traffic
    export SENTRY_DSN= FRONTEND_SENTRY_DSN= LATEST_VERSION_CHECK=false COLLECT_ANALYTICS=false
    # webhooks to 127.0.0.1 (our server) must not be blocked
    export SSRF_PROTECTION_ENABLED=false
    # no auto-detected local-files storage root (uploads are served from /data/upload/ regardless)
    export LOCAL_FILES_SERVING_ENABLED="${LOCAL_FILES_SERVING_ENABLED:-false}"
    exec setsid "$LS_VENV/bin/label-studio" start \
      --no-browser \
      --internal-host "$LS_HOST" --port "$LS_PORT" \
      --data-dir "$DATA_DIR" \
      --username "$LS_USERNAME" --password "$LS_PASSWORD" --user-token "$LS_TOKEN" \
      --enable-legacy-api-token \
      </dev/null >>"$LOG_FILE" 2>&1
  ) &
  local pid=$!
  echo "$pid" >"$PID_FILE"

  local deadline=$(( $(date +%s) + LS_START_TIMEOUT )) code="" unauthorized=0
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "server process $pid exited during startup; last log lines:"
      tail -n 40 "$LOG_FILE" >&2 || true
      rm -f "$PID_FILE"
      die "label-studio failed to start"
    fi
    if code="$(probe_api)"; then break; fi
    # The server only listens once migrations are done, so a steady 401/403 means a wrong token (a kept
    # data dir made with another LS_TOKEN) or legacy token auth off for the organization.
    if [[ "$code" == 401 || "$code" == 403 ]]; then
      if (( ++unauthorized >= 5 )); then
        log "the API answers $code to 'Authorization: Token \$LS_TOKEN'; last log lines:"
        tail -n 5 "$LOG_FILE" >&2 || true
        cmd_stop || true
        die "token rejected: the data dir $DATA_DIR was made with another LS_TOKEN (set LS_TOKEN to that one, or delete its data with: $0 start --wipe)"
      fi
    else
      unauthorized=0
    fi
    if (( $(date +%s) >= deadline )); then
      log "API not ready after ${LS_START_TIMEOUT}s (last answer: $code); last log lines:"
      tail -n 40 "$LOG_FILE" >&2 || true
      cmd_stop || true
      die "label-studio did not become ready (token auth on $URL/api/current-user/whoami)"
    fi
    sleep 1
  done
  log "ready at $URL in $(elapsed "$t0") s (pid $pid, RSS $(( $(rss_kb "$pid") / 1024 )) MiB)"
  echo "$URL"
}

cmd_stop() {
  local pid
  if ! pid="$(read_pid)" || ! kill -0 "$pid" 2>/dev/null; then
    log "not running"
    rm -f "$PID_FILE"
    return 0
  fi
  log "stopping pid $pid (TERM)"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < LS_STOP_TIMEOUT * 4; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after ${LS_STOP_TIMEOUT}s; KILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  # children that outlived the leader (same process group)
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_status() {
  if ! is_running; then
    echo "label-studio: not running"
    return 1
  fi
  local pid code; pid="$(read_pid)"
  if code="$(probe_api)"; then
    echo "label-studio: running, pid $pid, $URL, API ok, RSS $(( $(rss_kb "$pid") / 1024 )) MiB"
    return 0
  fi
  echo "label-studio: running, pid $pid, $URL, API not answering with the token ($code)"
  return 3
}

cmd_env() {
  printf 'export DFG_LABEL_STUDIO_URL=%q\n' "$URL"
  printf 'export DFG_LABEL_STUDIO_API_KEY=%q\n' "$LS_TOKEN"
}

cmd_logs() { tail -n "${1:-60}" "$LOG_FILE"; }

# Delete the data folder, only when confirmed: --yes, or "yes" typed at a terminal.
cmd_wipe() {
  local confirmed="$1"
  if [[ ! -d "$DATA_DIR" ]]; then
    log "nothing to wipe ($DATA_DIR does not exist)"
    return 0
  fi
  if [[ "$confirmed" != 1 ]]; then
    [[ -t 0 ]] || die "refusing to wipe $DATA_DIR without confirmation: add --yes (this deletes every project, task and annotation)"
    local answer
    read -r -p "Delete every Label Studio project, task and annotation in $DATA_DIR? Type yes: " answer
    [[ "$answer" == yes ]] || die "not wiped"
  fi
  cmd_stop
  rm -rf "$DATA_DIR"
  log "wiped $DATA_DIR"
}

command="${1:-}"
[[ $# -gt 0 ]] && shift
wipe=0 yes=0
for arg in "$@"; do
  case "$arg" in
    --wipe) wipe=1 ;;
    --yes) yes=1 ;;
    *) [[ "$command" == logs ]] || { usage >&2; exit 2; } ;;
  esac
done
if (( wipe )) && [[ "$command" != start && "$command" != restart ]]; then
  die "--wipe goes with start or restart (or use: $0 wipe)"
fi

case "$command" in
  install) cmd_install ;;
  start) if (( wipe )); then cmd_wipe "$yes"; fi; cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_stop; if (( wipe )); then cmd_wipe "$yes"; fi; cmd_start ;;
  wipe) cmd_wipe "$yes" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  logs) cmd_logs "$@" ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac

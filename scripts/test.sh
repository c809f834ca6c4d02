#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine, start the services they use, run them.
# Usage: scripts/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
step() { printf '\n==> %s (%ss)\n' "$*" "$(( $(date +%s) - started ))"; }

step "Python environment (.venv) with the project and its test extras"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

step "Python lint: ruff (pycodestyle, pyflakes, import order, bugbear; pyproject.toml [tool.ruff])"
.venv/bin/ruff check .
.venv/bin/python scripts/import_graph.py   # packages import one way: core <- server, models <- feedback <- cli

# --- Browser tests (extension/, tests/e2e): Chromium, a virtual screen, ESLint ------------------
step "Browser test tools: Debian's chromium, xvfb, xauth, xdotool and ffmpeg (installed if missing)"
browser_packages=()
[ -x /usr/bin/chromium ] || browser_packages+=(chromium)
command -v xvfb-run >/dev/null || browser_packages+=(xvfb)
command -v xauth >/dev/null || browser_packages+=(xauth)     # xvfb-run needs it; xvfb only recommends it
command -v xdotool >/dev/null || browser_packages+=(xdotool)
command -v ffmpeg >/dev/null || browser_packages+=(ffmpeg)   # makes the test videos (tests/e2e/videos.py)
if [ ${#browser_packages[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${browser_packages[@]}" >/dev/null
fi

step "Extension lint and JS unit tests: npm ci, ESLint and node --test in extension/"
if ! command -v npm >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
(cd extension && npm ci --no-audit --no-fund --loglevel=error && npx --no-install eslint . && node --test --test-reporter=spec tests/)
# --- end of the browser tests block -------------------------------------------------------------

# --- Label Studio (feedback/, tests/integration): its own venv; the tests start and stop it ------
step "Label Studio server in .labelstudio/venv (scripts/labelstudio.sh install)"
labelstudio_started=$(date +%s)
scripts/labelstudio.sh install
printf 'Label Studio install: %ss (the tests print their own start times)\n' "$(( $(date +%s) - labelstudio_started ))"
# --- end of the Label Studio block --------------------------------------------------------------

# --- PostgreSQL (core/store): the store, dispute and review tests run on it as well as on SQLite ---
step "PostgreSQL: a private server on 127.0.0.1 (scripts/postgres.sh start; stopped when the tests end)"
scripts/postgres.sh start
trap 'scripts/postgres.sh stop || true' EXIT
export DFG_TEST_POSTGRES_URL
DFG_TEST_POSTGRES_URL=$(scripts/postgres.sh url)
# --- end of the PostgreSQL block ----------------------------------------------------------------

# --- Several hosts (core/blobs.py, core/shared_models.py, tests/scale, tests/integration/test_two_hosts.py) ---
step "Object store and Redis: OpenStack Swift with s3api and redis-server on 127.0.0.1 (scripts/swift.sh, scripts/redis.sh)"
scripts/swift.sh start
scripts/redis.sh start
trap 'scripts/redis.sh stop || true; scripts/swift.sh stop || true; scripts/postgres.sh stop || true' EXIT
export DFG_TEST_S3_ENDPOINT DFG_TEST_REDIS_URL
DFG_TEST_S3_ENDPOINT=$(scripts/swift.sh url)
DFG_TEST_REDIS_URL=$(scripts/redis.sh url)
# --- end of the several-hosts block -------------------------------------------------------------

step "Tests"
.venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# memviz: one command to set up and run.
#   bash run.sh app    set up, then start the app on the built-in demo data (http://localhost:8501)
#   bash run.sh test   set up (with the browser-test dependencies), then run the whole test suite
#   bash run.sh setup  only set up
# Set-up is idempotent: a virtual environment in .venv, pip installs from requirements*.txt (torch pinned to
# the CPU build), and for tests Debian's Chromium (for Playwright) when it is missing.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
VENV=.venv
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

setup_python() {
  local req=$1
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  local stamp="$VENV/.memviz-installed-$(cat "$req" requirements.txt requirements-nodeps.txt pyproject.toml | sha1sum | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    echo "memviz: installing Python packages into $VENV (first run takes a few minutes) ..." >&2
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet -r "$req"
    "$VENV/bin/pip" install --quiet --no-deps -r requirements-nodeps.txt
    "$VENV/bin/pip" install --quiet --no-deps -e .
    touch "$stamp"
  fi
}

setup_browser() {
  if [ ! -x /usr/bin/chromium ]; then
    echo "memviz: installing Debian chromium for the browser tests ..." >&2
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
  fi
}

case "${1:-app}" in
  setup) setup_python requirements-dev.txt ;;
  app)
    setup_python requirements.txt
    shift || true
    exec "$VENV/bin/memviz" app "$@" ;;
  test)
    setup_python requirements-dev.txt
    setup_browser
    shift || true
    exec "$VENV/bin/python" -m pytest "$@" ;;
  *) echo "usage: bash run.sh [app|test|setup]" >&2; exit 2 ;;
esac

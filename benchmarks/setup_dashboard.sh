#!/usr/bin/env bash
# Completes a benchmark virtualenv for bench_dashboard.py: trackio 0.43.0 (the peer package), this
# checkout of trackio-callback installed editable with its dashboard server's packages (starlette,
# uvicorn), and playwright's Python package. The browser is the system's Chromium (CHROMIUM,
# default /usr/bin/chromium, passed to the benchmark as --chromium): this script never runs
# `playwright install`.
#
#   bash benchmarks/setup_dashboard.sh && /work/bench-venv/bin/python benchmarks/bench_dashboard.py
#
# BENCH_VENV picks the venv (default /work/bench-venv when it exists, else .bench-venv at the
# repository root, created with PYTHON, default python3, when missing).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ -z "${BENCH_VENV:-}" ]; then
    if [ -x /work/bench-venv/bin/python ]; then BENCH_VENV=/work/bench-venv; else BENCH_VENV=.bench-venv; fi
fi
VENV="$BENCH_VENV"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --quiet)
"$VENV/bin/python" -c "import trackio" 2>/dev/null || "${PIP[@]}" "trackio==0.43.0"
"${PIP[@]}" starlette uvicorn playwright
"$VENV/bin/python" -c "import trackio_callback" 2>/dev/null || "${PIP[@]}" --no-deps -e .
[ -x "$CHROMIUM" ] || { echo "error: no Chromium at $CHROMIUM (set CHROMIUM=...)" >&2; exit 1; }
TRACKIO_CALLBACK_NO_HOOK=1 "$VENV/bin/python" - <<'EOF'
from importlib.metadata import version

names = ("trackio", "trackio-callback", "starlette", "uvicorn", "playwright")
print(" / ".join(f"{name} {version(name)}" for name in names))
EOF
echo "ready: $VENV/bin/python benchmarks/bench_dashboard.py --chromium $CHROMIUM"

#!/usr/bin/env bash
# Creates the benchmark virtualenv from scratch: .bench-venv/ at the repository root (scratch, not
# part of the project; delete it at will), holding trackio 0.43.0 (the peer package we compare
# with) and this checkout of trackio-callback, installed editable without its dependencies: the
# core that the benchmark exercises needs only the standard library.
#
#   bash benchmarks/setup.sh && .bench-venv/bin/python benchmarks/bench_core.py
#
# PYTHON picks the interpreter (default python3, >= 3.10); BENCH_VENV the venv path.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${BENCH_VENV:-.bench-venv}"

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet "trackio==0.43.0" pyarrow  # pyarrow: trackio's Parquet export (bench_sync)
"$VENV/bin/python" -m pip install --quiet --no-deps -e .
"$VENV/bin/python" -c "import trackio, trackio_callback; print('trackio', trackio.__version__, '/ trackio-callback', trackio_callback.__version__)"
echo "ready: $VENV/bin/python benchmarks/bench_core.py"

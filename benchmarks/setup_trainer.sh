#!/usr/bin/env bash
# Creates (or completes) the benchmark virtualenv for bench_trainer.py: .bench-venv/ at the
# repository root (scratch, not part of the project; delete it at will), holding torch (CPU),
# transformers, datasets, accelerate, trackio 0.43.0 (the peer package, used by transformers' own
# TrackioCallback) and this checkout of trackio-callback, installed editable without its
# dependencies. Safe to run over the venv that benchmarks/setup.sh made.
#
#   bash benchmarks/setup_trainer.sh && .bench-venv/bin/python benchmarks/bench_trainer.py
#
# torch is installed first and pinned in every later step, so that resolving transformers never
# swaps it for another build. On Linux, PyPI's torch wheel is the CUDA build (several GB): where
# no CPU wheel is found locally, point pip at one, e.g.
#   TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu" bash benchmarks/setup_trainer.sh
#
# PYTHON picks the interpreter (default python3, >= 3.10); BENCH_VENV the venv path; TORCH_SPEC
# the torch requirement (default torch==2.13.0); TORCH_PIP_ARGS extra pip arguments for torch.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${BENCH_VENV:-.bench-venv}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
read -r -a TORCH_ARGS <<< "${TORCH_PIP_ARGS:-}"

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --quiet)
"${PIP[@]}" "${TORCH_ARGS[@]}" "$TORCH_SPEC"
"${PIP[@]}" "$TORCH_SPEC" "trackio==0.43.0" transformers datasets accelerate
# Last, so that the start-up hook (trackio_callback_hook.pth + _trackio_callback_hook.py) is
# (re)installed into site-packages: without it report_to="trackio" would not reach trackio-callback.
"${PIP[@]}" --no-deps -e .

SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
for hook in trackio_callback_hook.pth _trackio_callback_hook.py; do
    [ -f "$SITE/$hook" ] || { echo "error: $hook is missing from $SITE" >&2; exit 1; }
done
TRACKIO_CALLBACK_NO_HOOK=1 "$VENV/bin/python" - <<'EOF'
from importlib.metadata import version

import torch

names = ("torch", "transformers", "datasets", "accelerate", "trackio", "trackio-callback")
print(" / ".join(f"{name} {version(name)}" for name in names))
if torch.version.cuda:
    print(f"note: torch is a CUDA {torch.version.cuda} build; the benchmark runs on the CPU either way")
EOF
echo "ready: $VENV/bin/python benchmarks/bench_trainer.py"

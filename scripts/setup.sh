#!/usr/bin/env bash
# Create .venv and install extractscan with its pinned dependencies, offline-model included.
# torch is installed first and pinned to the CPU build so that sentence-transformers never pulls CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"

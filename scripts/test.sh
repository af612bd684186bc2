#!/usr/bin/env bash
# Set up (idempotent) and run the test suite as CI does: slow end-to-end runs are deselected
# (their small versions run); lint and types are checked too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check src tests
.venv/bin/mypy
.venv/bin/python -m pytest -q -m "not slow" -n 2 "$@"

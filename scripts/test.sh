#!/usr/bin/env bash
# Set up (idempotent) and run the test suite as CI does: slow end-to-end runs are deselected
# (their small versions run); lint and types are checked too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Headless Chromium for the browser test of the HTML reports (tests/report/test_html_browser.py).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } \
      >/dev/null 2>&1 || echo "warning: could not install chromium; the browser test will be skipped" >&2
  else
    echo "note: no chromium (Debian: apt-get install chromium); the browser test will be skipped" >&2
  fi
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check src tests
.venv/bin/mypy
.venv/bin/python -m pytest -q -m "not slow" -n 2 "$@"

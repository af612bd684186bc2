#!/usr/bin/env bash
# Set up (idempotent) and run the main job on sample_logs/: ingest + scan + reports into scan-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
rm -rf scan-out
.venv/bin/extractscan scan sample_logs --out scan-out "$@"
.venv/bin/extractscan evaluate scan-out --labels sample_logs/labels.csv

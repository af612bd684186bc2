#!/usr/bin/env bash
# The development evaluation on REAL prompt text (docs/evaluation.md): benign accounts draw from the
# ../shared/devset benign pools, extraction accounts from the extraction pools, through `extractscan synth`;
# then scan (with and without embeddings) and evaluate against the labels. Not a test: ../shared is a
# development resource, absent from a user's clone.
#
#   bash scripts/devset_eval.sh [WORK_DIR] [SEED]       # default /tmp/extractscan-devset, seed 23
#
# ~380 MB of logs, ~150k requests; about 2 min without embeddings and 6-15 min with them on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="${1:-/tmp/extractscan-devset}"
SEED="${2:-23}"
DEVSET="${DEVSET:-../shared/devset}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
X=.venv/bin/extractscan

mkdir -p "$WORK"
cat "$DEVSET/arena_hard.jsonl" "$DEVSET/mt_bench.jsonl" "$DEVSET/awesome_chatgpt_prompts.jsonl" > "$WORK/benign_pool.jsonl"
cat "$DEVSET/gsm8k.jsonl" "$DEVSET/gpteacher_codegen.jsonl" > "$WORK/extraction_pool.jsonl"

rm -rf "$WORK/logs"
$X synth "$WORK/logs" --seed "$SEED" \
  --accounts "benign_chat=1500,benign_app=40,benchmark_runner=30,diluted=40,extractor=6" \
  --hydra-campaigns 4 --paraphrase-campaigns 2 \
  --benign-pool "$WORK/benign_pool.jsonl" --extraction-pool "$WORK/extraction_pool.jsonl" -q

rm -rf "$WORK/out-noembed" "$WORK/out-embed"
/usr/bin/time -f "scan --no-embed: %e s, %M KB peak" $X scan "$WORK/logs" --out "$WORK/out-noembed" --no-embed -q
$X evaluate "$WORK/out-noembed" --labels "$WORK/logs/labels.csv"
/usr/bin/time -f "scan (embeddings): %e s, %M KB peak" \
  $X scan --store "$WORK/out-noembed/store" --out "$WORK/out-embed" -q
$X evaluate "$WORK/out-embed" --labels "$WORK/logs/labels.csv"

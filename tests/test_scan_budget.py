"""The embedding budget holds for the whole scan, however many partitions it has."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from extractscan import api
from extractscan.cluster import embed as embed_mod
from extractscan.config import Config

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs"


class _Counting:
    """Stands in for the model: deterministic unit vectors, and a count of texts sent to it."""

    texts = 0

    def encode(self: embed_mod.Embedder, texts: Sequence[str]) -> np.ndarray:
        _Counting.texts += len(texts)
        rng = np.random.default_rng(len(texts))
        v = rng.standard_normal((len(texts), 384)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("budget")
    cfg = Config()
    api.ingest([SAMPLE / "envelope"], out / "store", cfg.replace(embed=dataclasses.replace(cfg.embed, enabled=False)))
    return out / "store"


@pytest.mark.parametrize("partition_rows", [100_000, 300])
def test_max_texts_is_a_scan_wide_cap(store: Path, partition_rows: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embed_mod.Embedder, "encode", _Counting.encode)
    monkeypatch.setattr(embed_mod.Embedder, "model_id", property(lambda self: "fake-model"))
    monkeypatch.setattr(embed_mod.Embedder, "dimension", property(lambda self: 384))
    cfg = Config(partition_rows=partition_rows)
    cfg = cfg.replace(embed=dataclasses.replace(cfg.embed, max_texts=300, reference_sample=50))
    _Counting.texts = 0
    result = api.scan_store(store, cfg)
    assert (result.stats.partitions == 1) == (partition_rows == 100_000)
    used = result.stats.embedded_texts + result.stats.embedding_cache_hits  # the store caches vectors
    assert 250 <= used <= 300  # the cap holds, and the split does not starve the budget

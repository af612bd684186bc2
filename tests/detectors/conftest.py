"""Scan-frame factory for detector tests: build frames by hand without the store or the cluster stage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from extractscan.config import Config
from extractscan.detectors.base import ScanContext
from extractscan.prepare import DERIVED_COLUMNS
from extractscan.schema import CANONICAL_SCHEMA

_T0 = datetime(2026, 3, 2, tzinfo=UTC).timestamp()


def make_frame(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """Rows give any canonical or derived column; the rest get defaults. ``entity_id`` defaults to
    ``account_id``; ``text`` to ``last_user_text``; ``text_norm`` to lowercased text; ``skeleton`` to
    text_norm; ``cluster_id``/``global_cluster_id`` to a hash of text_norm (exact duplicates cluster);
    ``ts`` to one request a minute; ``record_id`` to ``r<i>``."""
    out = []
    for i, r in enumerate(rows):
        r = dict(r)
        r.setdefault("record_id", f"r{i}")
        r.setdefault("account_id", r.get("entity_id", "acct"))
        r.setdefault("entity_id", r["account_id"])
        r.setdefault("last_user_text", r.get("text", f"question number {i}"))
        r.setdefault("text", r["last_user_text"])
        r.setdefault("text_norm", " ".join(str(r["text"]).lower().split()))
        r.setdefault("skeleton", r["text_norm"])
        r.setdefault("ts", _T0 + 60.0 * i)
        r.setdefault("n_messages", 1)
        r.setdefault("n_user_turns", 1)
        r.setdefault("status", "success")
        r.setdefault("source_format", "envelope")
        out.append(r)
    names = set(CANONICAL_SCHEMA.names) | set(DERIVED_COLUMNS)
    extra = {k for r in out for k in r} - names
    assert not extra, f"unknown frame columns {extra}"
    df = pl.DataFrame(out, infer_schema_length=None)
    if "event_time" not in df.columns:
        df = df.with_columns(
            pl.from_epoch((pl.col("ts") * 1e6).cast(pl.Int64), time_unit="us").dt.replace_time_zone("UTC").alias("event_time")
        )
    h = (pl.col("text_norm").hash(seed=3) // 2).cast(pl.Int64)
    defaults = {
        "skeleton_id": pl.col("skeleton").hash(seed=5),
        "cluster_id": h,
        "global_cluster_id": h,
        "embedding_row": pl.lit(None, dtype=pl.Int32()),
    }
    df = df.with_columns([e.alias(k) for k, e in defaults.items() if k not in df.columns])
    # Every canonical column the frame may carry exists (null when not given).
    empty = pl.from_arrow(CANONICAL_SCHEMA.empty_table())
    assert isinstance(empty, pl.DataFrame)
    missing = [pl.lit(None, dtype=empty.schema[n]).alias(n) for n in empty.columns if n not in df.columns]
    return df.with_columns(missing).with_columns([pl.col(k).cast(v) for k, v in DERIVED_COLUMNS.items()])


@pytest.fixture
def ctx() -> ScanContext:
    return ScanContext(config=Config())


def run_detector(det: Any, frame: pl.DataFrame, context: ScanContext | None = None) -> pl.DataFrame:
    """features on the frame, then score over the result, as the scan does (one partition)."""
    context = context or ScanContext(config=Config())
    feats = det.features(frame, context)
    return det.score(feats, context)


# ------------------------------------------------------------------------------------------------
# Embedding helpers (ES103 semantic_shift, ES104 prada, ES105 seat and other embedding detectors).


def unit_rows(a: Any) -> Any:
    """L2-normalise the rows of an array (float32, as EmbeddingSet vectors are)."""
    import numpy as np

    a = np.asarray(a, dtype=np.float64)
    return (a / np.linalg.norm(a, axis=-1, keepdims=True)).astype(np.float32)


def random_sphere(n: int, dim: int = 64, seed: int = 0) -> Any:
    """``n`` random unit vectors, uniform on the sphere (a diverse, benign-looking sample)."""
    import numpy as np

    return unit_rows(np.random.default_rng(seed).normal(size=(n, dim)))


def narrow_cone(n: int, dim: int = 64, spread: float = 0.05, seed: int = 0) -> Any:
    """``n`` unit vectors around one random direction (``spread`` = per-coordinate noise): a tight cluster."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centre = rng.normal(size=dim)
    centre /= np.linalg.norm(centre)
    return unit_rows(centre + spread * rng.normal(size=(n, dim)))


def make_embedded(
    groups: dict[str, Any],
    reference: Any,
    texts: dict[str, list[str]] | None = None,
    unembedded: dict[str, int] | None = None,
    config: Config | None = None,
) -> tuple[pl.DataFrame, ScanContext]:
    """A frame and a context with embeddings: ``groups`` maps entity -> (n, dim) vectors, one request per
    vector in time order with ``embedding_row`` pointing at it; ``texts`` optionally gives the prompts
    (default ``"<entity> prompt <i>"``); ``unembedded`` adds that many requests without embeddings per
    entity (after the embedded ones). Returns (frame, ScanContext with EmbeddingSet(vectors, reference))."""
    import numpy as np

    from extractscan.detectors.base import EmbeddingSet

    rows: list[dict[str, Any]] = []
    vectors = []
    k = 0
    for eid, vecs in groups.items():
        vecs = np.asarray(vecs, dtype=np.float32)
        names = (texts or {}).get(eid) or [f"{eid} prompt {i}" for i in range(len(vecs))]
        for i, v in enumerate(vecs):
            rows.append(
                {
                    "entity_id": eid,
                    "text": names[i],
                    "embedding_row": k,
                    "record_id": f"{eid}-{i}",
                    "ts": _T0 + 60.0 * len(rows),
                }
            )
            vectors.append(v)
            k += 1
        for j in range((unembedded or {}).get(eid, 0)):
            rows.append(
                {
                    "entity_id": eid,
                    "text": f"{eid} plain {j}",
                    "record_id": f"{eid}-u{j}",
                    "ts": _T0 + 60.0 * len(rows),
                }
            )
    dim = np.asarray(reference).shape[-1] if len(vectors) == 0 else len(vectors[0])
    emb = EmbeddingSet(
        vectors=np.asarray(vectors, dtype=np.float32).reshape(-1, dim),
        reference=np.asarray(reference, dtype=np.float32),
    )
    return make_frame(rows), ScanContext(config=config or Config(), embeddings=emb)

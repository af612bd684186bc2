"""The detector contract.

A detector is one signal of extraction, in one file of this package, discovered by
:mod:`extractscan.detectors.registry`. It has a stable ID (``ES1xx``), a name, a one-line summary, a
``Params`` dataclass whose defaults are documented, and two steps:

* ``features(frame, ctx)`` runs on one *partition* of entities (accounts by default): it reads the scan
  frame (one row per request, see docs/design.md) and returns one row per entity with whatever columns the
  detector needs later, including evidence (request ids, cluster ids, example prompts). Polars only: no
  Python loop per request.
* ``score(features, ctx)`` runs once over the features of every entity, so it can compare an entity with
  the population. It returns :data:`RESULT_SCHEMA` rows: ``value`` (the raw measurement), ``score`` in
  [0, 1] (how strongly this signal indicates extraction), ``confidence`` in [0, 1] (how much data supports
  it) and the evidence.

The class docstring is the detector's documentation (docs/detectors.md is generated from it and checked by a
test): say what it measures, why it indicates extraction, its evidence and its known false positives.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import polars as pl

from extractscan.cluster.normalize import distinct_index, per_distinct_batch
from extractscan.config import Config

RESULT_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "value": pl.Float64(),
    "score": pl.Float64(),
    "confidence": pl.Float64(),
    "summary": pl.String(),
    "request_ids": pl.List(pl.String()),
    "cluster_ids": pl.List(pl.String()),
    "examples": pl.List(pl.String()),
}


@dataclass(frozen=True)
class EmbeddingSet:
    """Embeddings of the budgeted sample of one partition plus the population reference.

    ``frame`` rows with a non-null ``embedding_row`` have their vector at ``vectors[embedding_row]``.
    Vectors are L2-normalised float32.
    """

    vectors: np.ndarray
    reference: np.ndarray
    exemplar_vectors: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class ScanContext:
    """What a detector may read besides the frame. Immutable; one per scan (and per partition)."""

    config: Config
    window_start: float | None = None  # epoch seconds of the first / last request in the scan
    window_end: float | None = None
    n_entities: int = 0
    embeddings: EmbeddingSet | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def with_embeddings(self, emb: EmbeddingSet | None) -> ScanContext:
        return dataclasses.replace(self, embeddings=emb)


class Detector(ABC):
    id: ClassVar[str] = ""
    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    requires: ClassVar[frozenset[str]] = frozenset()  # "embeddings"
    weight: ClassVar[float] = 1.0  # default weight in the combined score (see scoring.py)
    # Texts the scan embeds once and hands over as ctx.embeddings.exemplar_vectors[id] (semantic matching).
    exemplars: ClassVar[tuple[str, ...]] = ()

    @dataclass(frozen=True)
    class Params:
        pass

    params: Any

    def __init__(self, params: Any = None) -> None:
        self.params = params if params is not None else self.Params()

    @classmethod
    def from_config(cls, cfg: Config) -> Detector:
        overrides = dict(cfg.detectors.get(cls.id, {}))
        overrides.pop("enabled", None)
        overrides.pop("weight", None)
        known = {f.name for f in dataclasses.fields(cls.Params)}
        unknown = set(overrides) - known
        if unknown:
            from extractscan.config import ConfigError

            raise ConfigError(
                f"unknown parameter(s) {sorted(unknown)} for detector {cls.id} ({cls.name}); known: {sorted(known)}"
            )
        return cls(cls.Params(**overrides))

    @abstractmethod
    def features(self, frame: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        """Per partition: one row per entity with what ``score`` needs (polars, no per-request loop)."""

    @abstractmethod
    def score(self, features: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        """Over every entity's features: RESULT_SCHEMA rows (use ``result_frame``)."""


# ------------------------------------------------------------------------------------------------
# Helpers shared by detectors (polars expressions).


def result_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Coerce a detector's output to RESULT_SCHEMA: missing evidence columns become empty, scores are
    clipped to [0, 1], and rows are ordered by entity for determinism."""
    cols = []
    for name, dtype in RESULT_SCHEMA.items():
        if name in df.columns:
            cols.append(pl.col(name).cast(dtype))
        elif isinstance(dtype, pl.List):
            cols.append(pl.lit([], dtype=dtype).alias(name))
        elif name == "summary":
            cols.append(pl.lit("", dtype=pl.String()).alias(name))
        else:
            cols.append(pl.lit(0.0, dtype=dtype).alias(name))
    out = df.select(cols).with_columns(
        pl.col("score").fill_null(0.0).fill_nan(0.0).clip(0.0, 1.0),
        pl.col("confidence").fill_null(0.0).fill_nan(0.0).clip(0.0, 1.0),
        pl.col("value").fill_nan(None),
    )
    return out.sort("entity_id")


def per_distinct(values: pl.Series, exprs: list[pl.Expr]) -> pl.DataFrame:
    """``exprs`` (elementwise, over ``pl.col(values.name)``) evaluated once per distinct value
    (:func:`~extractscan.cluster.normalize.distinct_index`) and gathered back to one row per input row, in
    input order: the same frame as ``values.to_frame().select(exprs)``."""
    uniq, index = distinct_index(values)
    return uniq.to_frame().select(exprs)[index]


def on_distinct(values: pl.Expr, fn: Callable[[pl.Expr], pl.Expr], dtype: pl.DataType) -> pl.Expr:
    """``fn(values)`` (elementwise, of type ``dtype``) evaluated once per distinct value of ``values`` and
    gathered back: for regexes over prompts and system prompts, which repeat."""
    return values.map_batches(per_distinct_batch(fn, dtype), return_dtype=dtype, is_elementwise=True)


def ramp(x: pl.Expr, lo: float, hi: float) -> pl.Expr:
    """0 below ``lo``, 1 above ``hi``, linear between: the usual way a measurement becomes a score."""
    # Cast first: an unsigned count minus a threshold would wrap around instead of going negative.
    return ((x.cast(pl.Float64) - lo) / (hi - lo)).clip(0.0, 1.0)


def volume_confidence(n: pl.Expr, full_at: float = 50.0) -> pl.Expr:
    """Confidence from the number of requests behind a measurement: ~0.2 at 5, 1.0 at ``full_at``."""
    return (n.cast(pl.Float64).log1p() / np.log1p(full_at)).clip(0.0, 1.0)


def top_examples(frame: pl.DataFrame, mask: pl.Expr, k: int, chars: int) -> pl.DataFrame:
    """Per entity, up to ``k`` example prompts (cut to ``chars``) and their request ids among rows where
    ``mask`` holds; deterministic (earliest first)."""
    return (
        frame.select("entity_id", "ts", "record_id", "text", mask.alias("_mask"))  # sort 4 columns, not the frame
        .filter(pl.col("_mask"))
        .sort(["entity_id", "ts", "record_id"], nulls_last=True)
        .group_by("entity_id", maintain_order=True)
        .agg(
            pl.col("text").head(k).str.slice(0, chars).alias("examples"),
            pl.col("record_id").head(k).alias("request_ids"),
        )
    )

"""ES104 prada: the PRADA normality test on each entity's stream of minimum query distances."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import polars as pl
from scipy import stats

from extractscan.detectors.base import Detector, ScanContext, ramp, result_frame, volume_confidence
from extractscan.detectors.semantic_shift import EmbeddedGroup, cut, embedded_groups, entity_ids


def min_prior_distances(X: np.ndarray) -> np.ndarray:
    """For rows 1..n-1 of ``X`` (L2-normalised, time order), the minimum cosine distance to any earlier
    row. Length n-1 (the first query has no predecessor)."""
    n = X.shape[0]
    if n < 2:
        return np.zeros(0)
    D = 1.0 - np.clip(X @ X.T, -1.0, 1.0)
    D = np.where(np.tril(np.ones((n, n), dtype=bool), k=-1), D, np.inf)
    return np.maximum(D[1:].min(axis=1), 0.0)


class Prada(Detector):
    """PRADA (Juuti et al., 2019): is the entity's stream of minimum query distances normally distributed?

    **What it measures.** Over the entity's embedded prompts in time order, the minimum cosine distance of
    each prompt to all earlier ones (the first is skipped), then the Shapiro–Wilk statistic W of that
    stream of distances (``scipy.stats.shapiro``), when it holds at least ``min_count`` distances. ``value``
    is W (1 = perfectly normal). The score rises as W falls below the threshold δ (``delta``): 0 at δ,
    1 at δ − ``span``.

    *Threshold choice.* PRADA has no universal δ: the paper tunes it per setting on benign query streams
    so that benign clients are not flagged. Here the stream is short (the embedded sample, <= ~24
    prompts). Under exact normality, W < 0.85 happens for 0.2% of streams of 23 distances and 3.6% of
    streams of 12 (the 1% quantiles are 0.88 and 0.81), and real benign text streams are not exactly normal
    either (the running minimum shrinks as the history grows; topic changes add tails). On the
    development set (24-prompt accounts of Arena-Hard, MT-Bench, awesome-chatgpt-prompts and a templated
    app; see benchmarks/dev_embedding_detectors.py) benign W ranged 0.914–0.995, while seed-and-perturb
    sweeps gave W 0.40–0.6. δ therefore defaults to 0.85 with ``span`` 0.15: benign streams stay at zero,
    and short streams, where a chance W below δ is likelier, get a lower confidence.

    A degenerate stream, with every distance equal (e.g. the same prompt repeated), has no defined W;
    it is not measured here (ES105 seat scores duplicates).

    **Why it indicates extraction.** Organic users ask loosely related questions, so each new query's
    distance to its nearest predecessor varies smoothly around a typical value. Extraction procedures
    generate queries systematically: perturbations or paraphrases of seed prompts (many tiny distances
    between rare large jumps to a new seed) or regular sweeps (distances piled on a few values). Both produce
    clearly non-normal, often bimodal distance streams.

    **Evidence.** ``request_ids`` and ``examples``: the prompts whose minimum distance deviates most from
    the stream's median (robust z-score), e.g. near-copies of an earlier prompt or jumps to a new seed.

    **Known false positives.** Users who mix a few near-identical retries or edits of one prompt with
    unrelated questions (bimodal again), benchmark runners that iterate over variants of the same items, and
    short streams, where W is noisy (hence the ``min_count`` floor and the confidence that grows with the
    count). Benign templated apps usually pass: the varied customer text keeps the distances unimodal.
    Conversely, extraction that samples a natural task distribution (e.g. a dataset of math word problems)
    or fills one template with a list of topics also passes (dev set W 0.92–0.98): PRADA catches
    systematic perturbation, not topical focus, so it complements ES103. It is weaker on text than on the
    images it was designed for, so its default weight is below 1.
    """

    id: ClassVar[str] = "ES104"
    name: ClassVar[str] = "prada"
    summary: ClassVar[str] = "Non-normal stream of minimum query distances (PRADA Shapiro–Wilk test)"
    requires: ClassVar[frozenset[str]] = frozenset({"embeddings"})
    weight: ClassVar[float] = 0.7

    @dataclass(frozen=True)
    class Params:
        min_count: int = 12  # minimum distances (embedded prompts - 1) for the test; fewer: no measurement
        delta: float = 0.85  # PRADA's δ: W below it counts as non-normal (see the docstring)
        span: float = 0.15  # W at δ - span gives score 1
        constant_tolerance: float = 1e-6  # distance streams with a smaller range are degenerate (no W)
        evidence_rows: int = 5  # request ids reported (most deviating distances)
        full_confidence_at: int = 23  # distances for full confidence (a 24-prompt sample gives 23)

    params: Params

    _SCHEMA: ClassVar[dict[str, pl.DataType]] = {
        "entity_id": pl.String(),
        "count": pl.Int64(),
        "w": pl.Float64(),
        "p": pl.Float64(),
        "summary": pl.String(),
        "request_ids": pl.List(pl.String()),
        "examples": pl.List(pl.String()),
    }

    def features(self, frame: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        emb = ctx.embeddings
        chars = ctx.config.report.example_chars
        groups = {g.entity_id: g for g in embedded_groups(frame)} if emb is not None else {}
        out: list[dict[str, Any]] = []
        for eid in entity_ids(frame):
            g = groups.get(eid)
            count = 0 if g is None else max(int(g.rows.size) - 1, 0)
            row: dict[str, Any] = {"entity_id": eid, "count": count, "request_ids": [], "examples": []}
            if emb is None or g is None or count < p.min_count:
                row["summary"] = f"too few embedded prompts for the PRADA test ({count} distances < {p.min_count})"
            else:
                row.update(self._measure(emb.vectors, g, chars))
            out.append(row)
        return pl.DataFrame(out, schema=self._SCHEMA)

    def _measure(self, vectors: np.ndarray, g: EmbeddedGroup, chars: int) -> dict[str, Any]:
        p = self.params
        X = np.asarray(vectors[g.rows], dtype=np.float64)
        d = min_prior_distances(X)
        med = float(np.median(d))
        if float(np.ptp(d)) < p.constant_tolerance:
            return {"summary": f"{d.size} minimum distances are all {med:.3f}: degenerate stream, no test"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.shapiro(d)
        w, pv = float(res.statistic), float(res.pvalue)
        mad = float(np.median(np.abs(d - med))) * 1.4826
        dev = np.abs(d - med) / max(mad, 1e-9)
        top = np.argsort(-dev, kind="stable")[: p.evidence_rows] + 1  # distance i belongs to prompt i + 1
        verdict = "fail" if w < p.delta else "pass"
        summary = (
            f"{d.size} time-ordered minimum distances to earlier prompts (median {med:.3f}, "
            f"range {d.min():.3f}–{d.max():.3f}) {verdict} PRADA's normality test: "
            f"Shapiro–Wilk W={w:.3f} (p={pv:.3g}) vs δ={p.delta:.2f}"
        )
        return {
            "w": w,
            "p": pv,
            "summary": summary,
            "request_ids": [g.record_ids[int(i)] for i in top],
            "examples": cut(g.texts, top[:3], chars),
        }

    def score(self, features: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if features.height == 0:
            return result_frame(pl.DataFrame(schema=self._SCHEMA))
        measured = pl.col("w").is_not_null()
        df = features.with_columns(
            pl.col("w").alias("value"),
            pl.when(measured).then(ramp(p.delta - pl.col("w"), 0.0, p.span)).otherwise(0.0).alias("score"),
            pl.when(measured)
            .then(volume_confidence(pl.col("count"), float(p.full_confidence_at)))
            .otherwise(0.0)
            .alias("confidence"),
        )
        return result_frame(df)

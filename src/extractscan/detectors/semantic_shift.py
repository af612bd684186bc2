"""ES103 semantic_shift: how far an entity's prompts sit from the population (calibrated MMD).

Also home of :func:`embedded_groups`, the per-entity view of the embedded sample that the other
embedding detectors (ES104 prada, ES105 seat) share.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import polars as pl

from extractscan.detectors.base import Detector, ScanContext, ramp, result_frame, volume_confidence

# ------------------------------------------------------------------------------------------------
# Shared by the embedding detectors.


@dataclass(frozen=True)
class EmbeddedGroup:
    """One entity's embedded sample, in time order (ts, then record_id)."""

    entity_id: str
    rows: np.ndarray  # int64 indices into EmbeddingSet.vectors
    record_ids: list[str]
    texts: list[str]


def embedded_groups(frame: pl.DataFrame) -> list[EmbeddedGroup]:
    """Per entity (ordered by id), the rows of ``frame`` that carry an embedding, in time order."""
    if frame.height == 0 or "embedding_row" not in frame.columns:
        return []
    emb = (
        frame.filter(pl.col("embedding_row").is_not_null())
        .sort(["entity_id", "ts", "record_id"], nulls_last=True)
        .group_by("entity_id", maintain_order=True)
        .agg(
            pl.col("embedding_row").cast(pl.Int64),
            pl.col("record_id"),
            pl.col("text").fill_null(""),
        )
    )
    return [EmbeddedGroup(str(e), np.asarray(r, dtype=np.int64), list(ids), list(txt)) for e, r, ids, txt in emb.iter_rows()]


def entity_ids(frame: pl.DataFrame) -> list[str]:
    """Distinct entity ids of the frame, sorted (entities without embeddings still get a features row)."""
    if frame.height == 0:
        return []
    return sorted(str(e) for e in frame["entity_id"].drop_nulls().unique().to_list())


def cut(texts: list[str], idx: list[int] | np.ndarray, chars: int) -> list[str]:
    return [texts[int(i)][:chars] for i in idx]


# ------------------------------------------------------------------------------------------------
# Reference statistics (kernel, bandwidth, null distributions), cached per reference and parameters.


@dataclass
class _Reference:
    vectors: np.ndarray  # float64, m x d, L2-normalised
    gamma: float  # RBF kernel exp(-gamma * ||x - y||^2)
    median_sq: float  # median pairwise squared distance (the bandwidth heuristic)
    K: np.ndarray  # m x m kernel matrix
    row_sums: np.ndarray  # K.sum(1)
    total: float  # K.sum()
    cos: np.ndarray  # m x m cosine similarity
    nulls: dict[tuple[int, int, int, int], tuple[np.ndarray, np.ndarray]]  # (n, draws, k, seed) -> draws


_CACHE: dict[tuple[Any, ...], _Reference] = {}
_CACHE_MAX = 8


def _reference(ref: np.ndarray, bandwidth_scale: float) -> _Reference:
    ref64 = np.ascontiguousarray(ref, dtype=np.float64)
    digest = hashlib.blake2b(ref64.tobytes(), digest_size=16).hexdigest()
    key = (digest, ref64.shape, bandwidth_scale)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    m = ref64.shape[0]
    cos = np.clip(ref64 @ ref64.T, -1.0, 1.0)
    sq = np.maximum(2.0 - 2.0 * cos, 0.0)
    off = sq[np.triu_indices(m, k=1)] if m > 1 else np.array([2.0])
    median_sq = float(np.median(off)) if off.size else 2.0
    if median_sq <= 1e-12:  # a degenerate reference (all identical): any positive bandwidth will do
        median_sq = 2.0
    # Median heuristic (Gretton et al.): sigma = median pairwise distance, k = exp(-d^2 / (2 sigma^2)).
    gamma = 1.0 / (2.0 * median_sq * bandwidth_scale**2)
    K = np.exp(-gamma * sq)
    rs = K.sum(axis=1)
    out = _Reference(ref64, gamma, median_sq, K, rs, float(rs.sum()), cos, {})
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[key] = out
    return out


def _knn_mean(cos_block: np.ndarray, k: int) -> np.ndarray:
    """Mean cosine distance to the k nearest other members, averaged over members; ``cos_block`` is
    (..., n, n). Returns shape (...)."""
    n = cos_block.shape[-1]
    k = max(1, min(k, n - 1))
    d = 1.0 - cos_block
    d = d + np.eye(n) * 1e9  # a member is not its own neighbour
    nearest = np.partition(d, k - 1, axis=-1)[..., :k]
    return np.asarray(nearest.mean(axis=(-1, -2)))


def _null(refst: _Reference, n: int, draws: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Null distribution for samples of size ``n``: MMD^2 between ``draws`` random reference subsets of
    size n and the rest of the reference, and their within-subset mean kNN distance. Seeded by (seed, n)
    so the table does not depend on which other sizes a scan needs."""
    key = (n, draws, k, seed)
    hit = refst.nulls.get(key)
    if hit is not None:
        return hit
    m = refst.K.shape[0]
    rng = np.random.default_rng([seed, n, 103])
    S = np.stack([rng.choice(m, size=n, replace=False) for _ in range(draws)])  # draws x n
    kss = refst.K[S[:, :, None], S[:, None, :]]  # draws x n x n
    sum_ss = kss.sum(axis=(1, 2))
    sum_sr = refst.row_sums[S].sum(axis=1)
    mt = m - n
    term_xx = (sum_ss - n) / (n * (n - 1))  # kernel diagonal is 1
    sum_tt = refst.total - 2.0 * sum_sr + sum_ss - mt
    term_yy = sum_tt / (mt * (mt - 1))
    term_xy = (sum_sr - sum_ss) / (n * mt)
    mmd = term_xx + term_yy - 2.0 * term_xy
    knn = _knn_mean(refst.cos[S[:, :, None], S[:, None, :]], k)
    refst.nulls[key] = (mmd, knn)
    return mmd, knn


# ------------------------------------------------------------------------------------------------


class SemanticShift(Detector):
    """Semantic shift from the population: MMD between the entity's prompts and reference traffic.

    **What it measures.** The unbiased squared Maximum Mean Discrepancy (MMD², Gretton et al. 2012) between
    the entity's embedded prompt sample (up to ``embed.per_account_sample`` sentence embeddings, cluster
    representatives first) and the scan's *reference*: a random sample of the population's prompts. The
    kernel is an RBF whose bandwidth comes from the median heuristic on the reference (sigma = median
    pairwise distance), so it is fixed for the whole scan and deterministic. The raw MMD² depends on the
    sample size, so it is calibrated without a per-entity permutation test: for each sample size n that
    occurs, the detector draws ``null_draws`` random reference subsets of size n (seeded by ``seed`` and n),
    computes their MMD² against the rest of the reference, and reports the entity's z-score against that
    null (``value``) and an empirical p-value. The score ramps from ``z_low`` to ``z_high``.

    The summary also gives the *Stateful Detection* statistic (Chen et al. 2020): the mean cosine distance
    from each prompt to its ``knn_k`` nearest neighbours in the entity's own sample, next to the same
    statistic for random reference samples of the same size (small = a tight, systematic query buffer).

    *Self-exclusion.* The reference is a population sample and may contain the entity's own prompts, which
    would pull the two samples together. Reference vectors with cosine >= ``self_match_cosine`` to any of
    the entity's embedded prompts (the same text embeds to the same vector) are dropped from that entity's
    comparison; the null tables use the full reference, since dropping a handful of 400 rows does not
    move the null measurably. Prompts of the entity that were not embedded cannot be recognised and stay
    in the reference.

    **Why it indicates extraction.** A distillation campaign sends prompts generated to cover a target
    capability (math word problems, code tasks, a topic grid), whose distribution differs sharply from
    organic traffic; MMD against benign traffic is the best published detector of extraction query windows
    on LLM traffic (0.3% benign false positives at full detection of pure extraction windows).

    **Evidence.** ``request_ids`` and ``examples``: the prompts with the largest MMD witness value (kernel
    mean similarity to the entity's sample minus that to the reference), i.e. where the entity's traffic
    concentrates away from the population.

    **Known false positives.** Any entity whose traffic is legitimately narrow: benign templated apps (one
    system prompt, varied customer text, whose embeddings cluster), single-purpose integrations
    (a support bot, a translator, a classifier pipeline), topic-focused users, and benchmark or eval runners.
    MMD says "different from the population", not "extraction"; that is why the scorer combines it with
    volume, coverage, template and output-harvesting signals. On the development set (24-prompt accounts,
    benchmarks/dev_embedding_detectors.py) Arena-Hard chat stayed at z <= 2 and MT-Bench at z 6–8, while
    awesome-chatgpt-prompts ("I want you to act as ...", z 19–33) and a templated summarise-and-classify
    app (z ~90) scored 1 just like the extraction-style accounts (GPTeacher codegen z 16–24, GSM8K 59–75).
    It also needs a representative reference: when one campaign dominates the population, its prompts
    become "normal".
    """

    id: ClassVar[str] = "ES103"
    name: ClassVar[str] = "semantic_shift"
    summary: ClassVar[str] = "Prompt embeddings far from population traffic (calibrated MMD; kNN spread)"
    requires: ClassVar[frozenset[str]] = frozenset({"embeddings"})
    weight: ClassVar[float] = 1.0

    @dataclass(frozen=True)
    class Params:
        min_sample: int = 6  # fewer embedded prompts: no measurement (score 0, confidence 0)
        bandwidth_scale: float = 1.0  # multiplies the median-heuristic RBF bandwidth
        null_draws: int = 256  # random reference subsets per sample size for the null distribution
        z_low: float = 5.0  # MMD² z-score at which the score starts to rise (dev set: benign chat <= 2.5)
        z_high: float = 15.0  # MMD² z-score with score 1 (dev set: extraction-style accounts >= 16)
        knn_k: int = 3  # neighbours for the stateful-detection statistic (sample holds <= ~24 prompts)
        self_match_cosine: float = 0.9999  # reference vectors this close to the entity's own are excluded
        evidence_rows: int = 5  # request ids reported (largest witness values)
        full_confidence_at: int = 24  # embedded prompts for full confidence (the default sample size)

    params: Params

    _SCHEMA: ClassVar[dict[str, pl.DataType]] = {
        "entity_id": pl.String(),
        "n": pl.Int64(),
        "mmd2": pl.Float64(),
        "z": pl.Float64(),
        "p": pl.Float64(),
        "knn": pl.Float64(),
        "knn_null": pl.Float64(),
        "n_excluded": pl.Int64(),
        "summary": pl.String(),
        "request_ids": pl.List(pl.String()),
        "examples": pl.List(pl.String()),
    }

    def features(self, frame: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        emb = ctx.embeddings
        chars = ctx.config.report.example_chars
        groups = {g.entity_id: g for g in embedded_groups(frame)}
        ref = None
        if emb is not None and emb.reference is not None and len(emb.reference) >= max(p.min_sample, 2) + 2:
            ref = _reference(np.asarray(emb.reference), p.bandwidth_scale)
        # Cosine of every measurable entity's rows to the reference in one matrix product (per-entity
        # products are dominated by call overhead).
        cos_ref: dict[str, np.ndarray] = {}
        if emb is not None and ref is not None:
            measurable = [g for g in groups.values() if g.rows.size >= p.min_sample]
            if measurable:
                rows = np.concatenate([g.rows for g in measurable])
                V = np.ascontiguousarray(np.asarray(emb.vectors)[rows], dtype=np.float64)
                C = np.clip(V @ ref.vectors.T, -1.0, 1.0)
                bounds = np.cumsum([0] + [g.rows.size for g in measurable])
                cos_ref = {g.entity_id: C[a:b] for g, a, b in zip(measurable, bounds[:-1], bounds[1:], strict=True)}
        out: list[dict[str, Any]] = []
        for eid in entity_ids(frame):
            g = groups.get(eid)
            n = 0 if g is None else int(g.rows.size)
            row: dict[str, Any] = {
                "entity_id": eid,
                "n": n,
                "n_excluded": 0,
                "request_ids": [],
                "examples": [],
            }
            if emb is None or g is None or n < p.min_sample:
                row["summary"] = f"too few embedded prompts for a semantic comparison (n={n} < {p.min_sample})"
            elif ref is None:
                row["summary"] = "no population reference to compare with"
            else:
                row.update(self._measure(emb.vectors, g, cos_ref[eid], ref, ctx.config.seed, chars))
            out.append(row)
        return pl.DataFrame(out, schema=self._SCHEMA)

    def _measure(
        self,
        vectors: np.ndarray,
        g: EmbeddedGroup,
        cos_xr: np.ndarray,  # n x m cosine of the entity's rows to the reference
        ref: _Reference,
        seed: int,
        chars: int,
    ) -> dict[str, Any]:
        p = self.params
        X = np.asarray(vectors[g.rows], dtype=np.float64)
        n = X.shape[0]
        m_full = ref.vectors.shape[0]
        excluded = np.flatnonzero((cos_xr >= p.self_match_cosine).any(axis=0))
        keep = np.ones(m_full, dtype=bool)
        keep[excluded] = False
        m = int(keep.sum())
        if m < 2 or m_full - n < 2:
            return {"summary": f"the reference ({m_full} prompts, {m} not this entity's) is too small for {n}"}
        cos_xx = np.clip(X @ X.T, -1.0, 1.0)
        K_xx = np.exp(-ref.gamma * np.maximum(2.0 - 2.0 * cos_xx, 0.0))
        K_xr = np.exp(-ref.gamma * np.maximum(2.0 - 2.0 * cos_xr, 0.0))[:, keep]
        # Reference-reference sum without the excluded rows, from the cached row sums.
        if excluded.size:
            sum_ee = float(ref.K[np.ix_(excluded, excluded)].sum())
            sum_yy = ref.total - 2.0 * float(ref.row_sums[excluded].sum()) + sum_ee
        else:
            sum_yy = ref.total
        term_xx = (float(K_xx.sum()) - n) / (n * (n - 1))
        term_yy = (sum_yy - m) / (m * (m - 1))
        term_xy = float(K_xr.sum()) / (n * m)
        mmd2 = term_xx + term_yy - 2.0 * term_xy

        null_mmd, null_knn = _null(ref, n, p.null_draws, p.knn_k, seed)
        mu, sd = float(null_mmd.mean()), float(null_mmd.std(ddof=1))
        z = (mmd2 - mu) / max(sd, 1e-12)
        pval = (1.0 + float((null_mmd >= mmd2).sum())) / (1.0 + null_mmd.size)
        knn = float(_knn_mean(cos_xx, p.knn_k))
        knn_null = float(np.median(null_knn))

        # Witness function at each of the entity's prompts: where its mass sits away from the reference.
        witness = (K_xx.sum(axis=1) - 1.0) / max(n - 1, 1) - K_xr.mean(axis=1)
        top = np.argsort(-witness, kind="stable")[: p.evidence_rows]
        k_eff = max(1, min(p.knn_k, n - 1))
        p_txt = f"p<{pval:.3f}" if pval <= 1.0 / null_mmd.size + 1e-12 else f"p={pval:.3f}"
        excl = f"; {excluded.size} of its own prompts left out of the reference" if excluded.size else ""
        summary = (
            f"{n} embedded prompts differ from {m} reference prompts by MMD²={mmd2:.4f} "
            f"(z={z:.1f} against random reference samples of {n}, {p_txt}); "
            f"mean {k_eff}-NN cosine distance within the sample {knn:.3f} vs {knn_null:.3f} "
            f"for reference samples{excl}"
        )
        return {
            "mmd2": mmd2,
            "z": z,
            "p": pval,
            "knn": knn,
            "knn_null": knn_null,
            "n_excluded": int(excluded.size),
            "summary": summary,
            "request_ids": [g.record_ids[int(i)] for i in top],
            "examples": cut(g.texts, top[:3], chars),
        }

    def score(self, features: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if features.height == 0:
            return result_frame(pl.DataFrame(schema=self._SCHEMA).rename({"z": "value"}))
        measured = pl.col("z").is_not_null()
        df = features.with_columns(
            pl.col("z").alias("value"),
            pl.when(measured).then(ramp(pl.col("z"), p.z_low, p.z_high)).otherwise(0.0).alias("score"),
            pl.when(measured)
            .then(volume_confidence(pl.col("n"), float(p.full_confidence_at)))
            .otherwise(0.0)
            .alias("confidence"),
        )
        return result_frame(df)

"""ES105 seat: the share of highly similar prompt pairs per entity (SEAT), from clusters and embeddings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import polars as pl

from extractscan.detectors.base import Detector, ScanContext, ramp, result_frame, volume_confidence
from extractscan.detectors.semantic_shift import EmbeddedGroup, cut, embedded_groups


def similar_pairs(X: np.ndarray, threshold: float) -> tuple[int, int, np.ndarray]:
    """(pairs with cosine >= threshold, all pairs, per-row count of such partners) for L2-normalised rows."""
    n = X.shape[0]
    if n < 2:
        return 0, 0, np.zeros(n, dtype=np.int64)
    cos = X @ X.T
    hit = (cos >= threshold) & ~np.eye(n, dtype=bool)
    degree = hit.sum(axis=1)
    return int(degree.sum() // 2), n * (n - 1) // 2, degree


class Seat(Detector):
    """SEAT (Zhang et al., 2021): how many of an entity's prompt pairs are near-duplicates or paraphrases.

    **What it measures.** Two views of the share of an entity's prompt pairs that are highly similar; the
    ``value`` is the larger of the two, and the score ramps from ``share_low`` to ``share_high``.

    * *Cluster view* (always available, columnar): over **all** the entity's requests, the pairs that fall in
      the same MinHash near-duplicate cluster (``cluster_id``), sum over clusters of C(size, 2) / C(n, 2).
      Requests without a cluster count as singletons. Needs ``min_requests``.
    * *Embedding view* (only when ``ctx.embeddings`` is present): over the entity's embedded sample, the
      share of pairs whose cosine similarity is >= ``cosine_threshold``. The sample is drawn cluster
      representatives first, so this view sees semantic near-duplicates (paraphrases, one template filled
      with near-synonyms) that the lexical clusters miss. Needs ``min_embedded`` prompts.

    The detector therefore does not require embeddings: with embeddings off it still scores from clusters.

    **Why it indicates extraction.** Extraction tools sweep a space of inputs: the same question re-asked
    with small perturbations, one template filled with many values, paraphrase batches used to harvest
    diverse answers. SEAT's observation is that an attacker's query set contains far more highly similar
    pairs than a benign user's, even when spread over many accounts (each still holds many similar pairs).
    A benign user's pairs are rarely more than a few percent similar; a pure template sweep approaches 100%.

    **Evidence.** ``cluster_ids``: the entity's largest near-duplicate clusters (up to 3). ``request_ids``
    and ``examples``: requests of the largest cluster (earliest first) or, when the embedding view is the
    stronger one, the embedded prompts with the most similar partners.

    **Known false positives.** Benign templated apps whose user text is itself short and formulaic
    (form-filling, one-line classifications), retry storms and idempotent re-sends of the same request,
    health checks and monitoring probes, and benchmark runners that repeat a suite (several seeds or
    models). Confidence grows with the number of pairs behind the view, so a handful of retries in a small
    account weighs little.
    """

    id: ClassVar[str] = "ES105"
    name: ClassVar[str] = "seat"
    summary: ClassVar[str] = "Many near-duplicate or highly similar prompt pairs (SEAT; clusters + embeddings)"
    requires: ClassVar[frozenset[str]] = frozenset()
    weight: ClassVar[float] = 1.0

    @dataclass(frozen=True)
    class Params:
        cosine_threshold: float = 0.85  # embedding pairs at or above this cosine are highly similar (MiniLM)
        share_low: float = 0.05  # pair share at which the score starts to rise
        share_high: float = 0.3  # pair share with score 1 (~55% of requests in one cluster, or 8 variants
        # of each of 3 seeds in a 24-prompt sample)
        min_requests: int = 5  # fewer requests: no cluster view
        min_embedded: int = 6  # fewer embedded prompts: no embedding view
        evidence_rows: int = 5  # request ids reported
        top_clusters: int = 3  # cluster ids reported
        full_confidence_requests: int = 50  # requests for full confidence in the cluster view
        full_confidence_embedded: int = 24  # embedded prompts for full confidence in the embedding view

    params: Params

    _SCHEMA: ClassVar[dict[str, pl.DataType]] = {
        "entity_id": pl.String(),
        "n": pl.Int64(),
        "dup_pairs": pl.Int64(),
        "largest_cluster": pl.Int64(),
        "cluster_share": pl.Float64(),
        "n_embedded": pl.Int64(),
        "sim_pairs": pl.Int64(),
        "emb_share": pl.Float64(),
        "view": pl.String(),
        "summary": pl.String(),
        "request_ids": pl.List(pl.String()),
        "cluster_ids": pl.List(pl.String()),
        "examples": pl.List(pl.String()),
    }

    def _cluster_view(self, frame: pl.DataFrame, chars: int) -> pl.DataFrame:
        """Per entity: n, duplicate pairs, largest cluster, top cluster ids and the largest cluster's
        requests. Requests without a cluster id count in n but pair with nothing (singletons)."""
        p = self.params
        counts = frame.group_by("entity_id").agg(pl.len().cast(pl.Int64).alias("n"))
        sizes = (
            frame.filter(pl.col("cluster_id").is_not_null())
            .group_by("entity_id", "cluster_id")
            .agg(pl.len().cast(pl.Int64).alias("_size"))
            .sort(["entity_id", "_size", "cluster_id"], descending=[False, True, False])
        )
        per = sizes.group_by("entity_id", maintain_order=True).agg(
            (pl.col("_size") * (pl.col("_size") - 1) // 2).sum().alias("dup_pairs"),
            pl.col("_size").first().alias("largest_cluster"),
            pl.col("cluster_id").first().alias("_top"),
            pl.col("cluster_id").filter(pl.col("_size") >= 2).head(p.top_clusters).cast(pl.String).alias("cluster_ids"),
        )
        top = (
            frame.join(per.filter(pl.col("largest_cluster") >= 2), on="entity_id")
            .filter(pl.col("cluster_id") == pl.col("_top"))
            .sort(["entity_id", "ts", "record_id"], nulls_last=True)
            .group_by("entity_id", maintain_order=True)
            .agg(
                pl.col("record_id").head(p.evidence_rows).alias("request_ids"),
                pl.col("text").fill_null("").head(3).str.slice(0, chars).alias("examples"),
            )
        )
        pairs_all = pl.col("n") * (pl.col("n") - 1) // 2
        return (
            counts.join(per, on="entity_id", how="left")
            .join(top, on="entity_id", how="left")
            .with_columns(
                pl.col("dup_pairs").fill_null(0),
                pl.col("largest_cluster").fill_null(1),
            )
            .with_columns(
                pl.when(pl.col("n") >= p.min_requests)
                .then(pl.col("dup_pairs") / pairs_all)
                .otherwise(None)
                .alias("cluster_share"),
            )
        )

    def features(self, frame: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if frame.height == 0:
            return pl.DataFrame(schema=self._SCHEMA)
        chars = ctx.config.report.example_chars
        cv = self._cluster_view(frame, chars)
        emb = ctx.embeddings
        groups = {g.entity_id: g for g in embedded_groups(frame)} if emb is not None else {}
        out: list[dict[str, Any]] = []
        for r in cv.sort("entity_id").iter_rows(named=True):
            row: dict[str, Any] = {k: r[k] for k in self._SCHEMA if k in r}
            row["request_ids"] = r["request_ids"] or []
            row["examples"] = r["examples"] or []
            row["cluster_ids"] = r["cluster_ids"] or []
            n, share = int(r["n"]), r["cluster_share"]
            parts = []
            if share is None:
                parts.append(f"{n} requests: too few for the cluster view (< {p.min_requests})")
            else:
                parts.append(
                    f"{r['dup_pairs']} of {n * (n - 1) // 2} request pairs ({share:.1%}) share a "
                    f"near-duplicate cluster (largest {r['largest_cluster']} of {n})"
                )
            row["view"] = "clusters" if share is not None else None
            g = groups.get(r["entity_id"])
            if emb is not None and g is not None and g.rows.size >= p.min_embedded:
                row.update(self._embedding_view(emb.vectors, g, chars, share))
                parts.append(
                    f"{row['sim_pairs']} of {g.rows.size * (g.rows.size - 1) // 2} embedded-sample pairs "
                    f"({row['emb_share']:.1%}) have cosine >= {p.cosine_threshold:.2f}"
                )
            else:
                row["n_embedded"] = 0 if g is None else int(g.rows.size)
            row["summary"] = "; ".join(parts)
            out.append(row)
        return pl.DataFrame(out, schema=self._SCHEMA)

    def _embedding_view(self, vectors: np.ndarray, g: EmbeddedGroup, chars: int, cluster_share: float | None) -> dict[str, Any]:
        p = self.params
        X = np.asarray(vectors[g.rows], dtype=np.float64)
        sim, total, degree = similar_pairs(X, p.cosine_threshold)
        share = sim / total if total else 0.0
        out: dict[str, Any] = {"n_embedded": int(g.rows.size), "sim_pairs": sim, "emb_share": share}
        if share > (cluster_share if cluster_share is not None else -1.0):
            out["view"] = "embeddings"
            order = np.argsort(-degree, kind="stable")
            top = order[degree[order] > 0][: p.evidence_rows]
            out["request_ids"] = [g.record_ids[int(i)] for i in top]
            out["examples"] = cut(g.texts, top[:3], chars)
        return out

    def score(self, features: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if features.height == 0:
            return result_frame(pl.DataFrame(schema=self._SCHEMA))
        value = pl.max_horizontal(pl.col("cluster_share"), pl.col("emb_share"))
        conf = (
            pl.when(pl.col("view") == "embeddings")
            .then(volume_confidence(pl.col("n_embedded"), float(p.full_confidence_embedded)))
            .when(pl.col("view") == "clusters")
            .then(volume_confidence(pl.col("n"), float(p.full_confidence_requests)))
            .otherwise(0.0)
        )
        df = features.with_columns(
            value.alias("value"),
            ramp(value, p.share_low, p.share_high).fill_null(0.0).alias("score"),
            conf.alias("confidence"),
        )
        return result_frame(df)

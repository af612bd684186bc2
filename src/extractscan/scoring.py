"""Combine detector results into one score per entity, keep each detector's contribution, explain it.

The model (documented in docs/scoring.md):

* each detector gives evidence ``e = weight × score × confidence``;
* *intent* detectors (what is asked: templates, reasoning elicitation, rubric, capability targeting, output
  harvesting, semantic shift) add their evidence ``I`` in full;
* *behaviour* detectors (volume, cadence, conversation shape, semantic shift, infrastructure, …) add their
  evidence ``B`` scaled by ``behaviour_factor × min(1, I / intent_full_at)``: automation and an unusual
  prompt distribution are what every API integration looks like, so they only strengthen a case that the
  prompts themselves make;
* the combined evidence ``S = I + behaviour_factor × B × min(1, I / intent_full_at)`` maps to a score in [0, 1] with a logistic
  curve centred on ``midpoint``; ``flagged`` is ``score >= alert_threshold`` with at least ``min_requests``
  requests (smaller entities can still be flagged through a campaign);
* the confidence is the evidence-weighted mean of the detectors' confidences; the severity is a band of
  the score.
"""

from __future__ import annotations

import math

import polars as pl

from extractscan.config import ScoringConfig

SEVERITY_BANDS = ((0.9, "critical"), (0.75, "high"), (0.5, "medium"), (0.25, "low"))


def severity(score: float) -> str:
    for cut, name in SEVERITY_BANDS:
        if score >= cut:
            return name
    return "none"


def logistic(s: pl.Expr, midpoint: float, spread: float) -> pl.Expr:
    return 1.0 / (1.0 + ((midpoint - s) / spread).exp())


def combine(results: pl.DataFrame, weights: dict[str, float], cfg: ScoringConfig) -> pl.DataFrame:
    """``results``: long frame [entity_id, detector_id, score, confidence] over every detector that ran.

    Returns one row per entity: base_score, confidence, evidence (S), intent (I), behaviour (B), and a long
    frame of contributions is derived by :func:`contributions`.
    """
    intent = set(cfg.intent_detectors)
    w = pl.DataFrame(
        {"detector_id": list(weights), "weight": [float(v) for v in weights.values()]},
        schema={"detector_id": pl.String(), "weight": pl.Float64()},
    )
    long = (
        results.join(w, on="detector_id", how="left")
        .with_columns(
            pl.col("weight").fill_null(1.0),
            pl.col("detector_id").is_in(list(intent)).alias("is_intent"),
        )
        .with_columns((pl.col("weight") * pl.col("score") * pl.col("confidence")).alias("evidence"))
    )
    per = long.group_by("entity_id").agg(
        pl.col("evidence").filter(pl.col("is_intent")).sum().alias("intent"),
        pl.col("evidence").filter(~pl.col("is_intent")).sum().alias("behaviour"),
        # Confidence: mean of confidences weighted by each detector's weight × score (a detector with
        # nothing to say does not make the verdict more or less certain), falling back to plain weights.
        (
            (pl.col("confidence") * pl.col("weight") * (pl.col("score") + 0.05)).sum()
            / (pl.col("weight") * (pl.col("score") + 0.05)).sum()
        ).alias("confidence"),
    )
    amp = (pl.col("intent") / cfg.intent_full_at).clip(0.0, 1.0)
    per = per.with_columns((pl.col("intent") + cfg.behaviour_factor * pl.col("behaviour") * amp).alias("evidence")).with_columns(
        logistic(pl.col("evidence"), cfg.midpoint, cfg.spread).alias("base_score")
    )
    return per.sort("entity_id")


def contributions(results: pl.DataFrame, combined: pl.DataFrame, weights: dict[str, float], cfg: ScoringConfig) -> pl.DataFrame:
    """Each detector's share of an entity's combined evidence (behaviour evidence scaled like in
    :func:`combine`), in [0, 1], summing to 1 per entity when there is any evidence."""
    intent = set(cfg.intent_detectors)
    w = pl.DataFrame(
        {"detector_id": list(weights), "weight": [float(v) for v in weights.values()]},
        schema={"detector_id": pl.String(), "weight": pl.Float64()},
    )
    amp = (pl.col("intent") / cfg.intent_full_at).clip(0.0, 1.0)
    out = (
        results.join(w, on="detector_id", how="left")
        .join(combined.select("entity_id", "intent", "evidence"), on="entity_id", how="left")
        .with_columns(
            (pl.col("weight").fill_null(1.0) * pl.col("score") * pl.col("confidence")).alias("raw"),
        )
        .with_columns(
            pl.when(pl.col("detector_id").is_in(list(intent)))
            .then(pl.col("raw"))
            .otherwise(cfg.behaviour_factor * pl.col("raw") * amp)
            .alias("eff")
        )
        .with_columns(
            pl.when(pl.col("evidence") > 0).then(pl.col("eff") / pl.col("evidence")).otherwise(0.0).alias("contribution")
        )
    )
    return out.select("entity_id", "detector_id", "weight", "contribution")


def lifted(score: float, campaign_score: float, lift: float) -> float:
    """A campaign member's score: ``1 - (1 - s) × (1 - lift × c)``. It never lowers a score and reaches
    the campaign's level only through evidence the campaign has as a whole."""
    return 1.0 - (1.0 - score) * (1.0 - lift * campaign_score)


def explain(score: float, flagged: bool, parts: list[tuple[str, float, str]], campaign: str | None) -> str:
    """One sentence from the top contributions: ``parts`` = (detector name, contribution, summary)."""
    top = [p for p in sorted(parts, key=lambda p: (-p[1], p[0])) if p[1] > 0.05][:3]
    if not top:
        return "No detector found evidence of extraction."
    lead = "Flagged" if flagged else "Not flagged"
    body = "; ".join(f"{name}: {summary.rstrip('.')}" for name, _, summary in top)
    tail = f"; member of campaign {campaign}" if campaign else ""
    return f"{lead} (score {score:.2f}) — {body}{tail}."


def clamp01(x: float) -> float:
    if math.isnan(x):
        return 0.0
    return min(1.0, max(0.0, x))

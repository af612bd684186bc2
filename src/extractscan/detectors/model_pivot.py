"""ES112 model pivot: traffic moved wholesale to a newly released model within hours of its release."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from extractscan.detectors.base import (
    RESULT_SCHEMA,
    Detector,
    ScanContext,
    ramp,
    result_frame,
    volume_confidence,
)
from extractscan.detectors.volume import fmt_int, fmt_num, fmt_pct


class ModelPivotDetector(Detector):
    """A sharp move of an entity's traffic to a model that is new in the population, within hours of its
    first appearance.

    **What it measures.** A model is *new* when its first request by any entity falls inside the scan window,
    more than ``established_margin_h`` after the window start (earlier models may simply predate the logs).
    For each entity and new model: the lag from the model's first appearance to the entity's first use, and
    the share of the entity's requests from that first use on that went to the new model (the value). Score:
    full when the lag is <= ``max_lag_h`` and falls to 0 at twice that, times a ramp of the share from
    ``share_lo`` to ``share_hi``, times a ramp of the requests on the new model from ``min_pivot_requests`` to
    ``full_pivot_requests``, times a sustained-use factor: the clock hours with traffic on the new model over
    ``full_active_hours`` (or the hours left in the window), ramped from 25% to 75%, with
    ``burst_only_factor`` kept for a one-off burst. The best new model per entity is reported.

    **Why it indicates extraction.** A distiller wants the newest frontier model's answers before defences
    catch up, so campaigns move their traffic to it within a day of release and stop using the old one.
    Ordinary applications migrate after evaluation, gradually, and keep part of their traffic on the model
    they tested.

    **Evidence.** The first requests on the new model (ids and prompts); the model, lag, share and request
    counts in the summary.

    **Known false positives.** Early adopters (low volume: low score and confidence), benchmark runs of the
    new model (one-off bursts keep ``burst_only_factor`` of the score), applications that track a "latest"
    model alias or switch their default on release day, and new accounts created for a new model.
    """

    id: ClassVar[str] = "ES112"
    name: ClassVar[str] = "model_pivot"
    summary: ClassVar[str] = "Traffic moved wholesale to a newly released model within a day of its release"
    weight: ClassVar[float] = 0.6

    @dataclass(frozen=True)
    class Params:
        max_lag_h: float = 24.0  # first use within this many hours of the model's release: full lag score
        established_margin_h: float = 24.0  # models first seen this close to the window start are not new
        share_lo: float = 0.5  # share of later traffic on the new model where the score starts to rise
        share_hi: float = 0.9  # share of later traffic on the new model giving the full share score
        min_pivot_requests: int = 5  # fewer requests on the new model score 0 ...
        full_pivot_requests: int = 50  # ... and this many give the full volume factor
        full_active_hours: float = 12.0  # clock hours with traffic on the new model for sustained use ...
        burst_only_factor: float = 0.3  # ... and the part of the score kept for a one-off burst (an eval run)
        full_confidence_requests: float = 100.0  # requests on the new model at which confidence reaches 1

    def features(self, frame: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        chars = ctx.config.report.example_chars
        model = pl.coalesce(pl.col("model_requested"), pl.col("model_served")).str.strip_chars()
        f = (
            frame.filter(pl.col("ts").is_not_null())
            .with_columns(model.alias("_model"))
            .filter(pl.col("_model").is_not_null() & (pl.col("_model") != ""))
            .sort("entity_id", "ts", "record_id")
            .with_columns(
                pl.int_range(pl.len()).over("entity_id").alias("_idx"),
                pl.len().over("entity_id").alias("_n_model"),
            )
        )
        # Per (entity, model): first use, count, and how many of the entity's requests came from then on.
        per_model = (
            f.group_by("entity_id", "_model")
            .agg(
                pl.col("ts").min().alias("first_ts"),
                pl.len().alias("n"),
                (pl.col("ts") // 3600).n_unique().alias("hours"),
                (pl.col("_n_model").first() - pl.col("_idx").min()).alias("n_after"),
                pl.col("record_id").head(5).alias("ids"),
                pl.col("text").head(3).str.slice(0, chars).alias("texts"),
            )
            .rename({"_model": "model"})
            .sort("entity_id", "model")
            .group_by("entity_id", maintain_order=True)
            .agg(pl.struct("model", "first_ts", "n", "n_after", "hours", "ids", "texts").alias("models"))
        )
        per = frame.group_by("entity_id").agg(pl.len().alias("n"), pl.col("ts").max().alias("last_ts"))
        n_model = f.group_by("entity_id").agg(pl.len().alias("n_model"))
        return (
            per.join(n_model, on="entity_id", how="left")
            .join(per_model, on="entity_id", how="left")
            .with_columns(pl.col("n_model").fill_null(0))
            .sort("entity_id")
        )

    def score(self, features: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if features.is_empty():
            return result_frame(pl.DataFrame(schema=RESULT_SCHEMA))
        long = features.select("entity_id", "n_model", "models").explode("models").drop_nulls("models").unnest("models")
        pop = long.group_by("model").agg(pl.col("first_ts").min().alias("pop_first"))
        start = ctx.window_start if ctx.window_start is not None else pop.select(pl.col("pop_first").min()).item()
        new = pop.filter(pl.col("pop_first") > (start or 0.0) + p.established_margin_h * 3600)
        first_new = new.select(pl.col("pop_first").min()).item()
        end = ctx.window_end if ctx.window_end is not None else features.select(pl.col("last_ts").max()).item()
        # Sustained use: clock hours with traffic on the model against what the rest of the window allows.
        end_hour = (end or 0.0) // 3600
        hours_left = (end_hour - pl.col("first_ts") // 3600 + 1).clip(1.0, p.full_active_hours)
        sustained = ramp(pl.col("hours") / hours_left, 0.25, 0.75)

        lag_h = (pl.col("first_ts") - pl.col("pop_first")) / 3600
        cand = (
            long.join(new, on="model", how="inner")
            .with_columns(lag_h.alias("lag_h"), (pl.col("n") / pl.col("n_after")).alias("share"))
            .with_columns(
                (
                    ramp(-pl.col("lag_h"), -2 * p.max_lag_h, -p.max_lag_h)
                    * ramp(pl.col("share"), p.share_lo, p.share_hi)
                    * ramp(pl.col("n").cast(pl.Float64), p.min_pivot_requests - 1, p.full_pivot_requests)
                    * (p.burst_only_factor + (1.0 - p.burst_only_factor) * sustained)
                ).alias("pivot")
            )
            .sort(["entity_id", "pivot", "n", "model"], descending=[False, True, True, False])
            .group_by("entity_id", maintain_order=True)
            .first()
        )
        f = features.drop("models").join(
            cand.select(
                "entity_id",
                "model",
                "lag_h",
                "share",
                "pivot",
                "n_after",
                "ids",
                "texts",
                pl.col("n").alias("n_new"),
            ),
            on="entity_id",
            how="left",
        )
        is_cand = pl.col("model").is_not_null()
        active_after = (
            pl.lit(first_new is not None) & (pl.col("n_model") > 0) & (pl.col("last_ts") >= (first_new or 0.0)).fill_null(False)
        )
        summary = (
            pl.when(is_cand)
            .then(
                pl.concat_str(
                    [
                        pl.lit("moved "),
                        fmt_pct(pl.col("share")),
                        pl.lit(" of later traffic ("),
                        fmt_int(pl.col("n_new")),
                        pl.lit(" requests) to new model "),
                        pl.col("model").str.slice(0, 60),
                        pl.lit(", "),
                        fmt_num(pl.col("lag_h"), 1),
                        pl.lit(" h after it first appeared ("),
                        fmt_int(pl.col("n_model") - pl.col("n_after")),
                        pl.lit(" earlier requests on other models)"),
                    ]
                )
            )
            .when(active_after)
            .then(pl.lit("active after a new model appeared but did not use it"))
            .when(pl.lit(first_new is None))
            .then(pl.lit("no model new in the scan window"))
            .when(pl.col("n_model") == 0)
            .then(pl.lit("no model name in the logs"))
            .otherwise(pl.lit("no activity after a new model appeared"))
        )
        none = pl.lit([], dtype=pl.List(pl.String()))
        out = f.with_columns(
            pl.when(is_cand).then(pl.col("share")).when(active_after).then(0.0).alias("value"),
            pl.when(is_cand).then(pl.col("pivot")).otherwise(0.0).alias("score"),
            pl.when(is_cand)
            .then(volume_confidence(pl.col("n_new"), p.full_confidence_requests))
            .when(active_after)
            .then(volume_confidence(pl.col("n_model"), p.full_confidence_requests))
            .otherwise(0.0)
            .alias("confidence"),
            summary.alias("summary"),
            pl.when(is_cand).then(pl.col("ids")).otherwise(none).alias("request_ids"),
            pl.when(is_cand).then(pl.col("texts")).otherwise(none).alias("examples"),
        )
        return result_frame(out)

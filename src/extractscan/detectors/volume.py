"""ES101 volume: requests and tokens per active day and peak hourly rate, against the population.

Also home of the small number-formatting expressions the behavioural detectors (ES101, ES109-ES113) use
to write their one-line summaries in polars (``fmt_int``, ``fmt_pct``, ``fmt_num``).
"""

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
    top_examples,
    volume_confidence,
)

_MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation


def fmt_int(x: pl.Expr) -> pl.Expr:
    """An integer with thousands separators (``1,204``); null stays null."""
    v = x.round(0).cast(pl.Int64)

    def grp(e: pl.Expr) -> pl.Expr:
        return e.cast(pl.String).str.zfill(3)

    return (
        pl.when(v < 1_000)
        .then(v.cast(pl.String))
        .when(v < 1_000_000)
        .then(pl.concat_str([(v // 1_000).cast(pl.String), grp(v % 1_000)], separator=","))
        .when(v < 1_000_000_000)
        .then(pl.concat_str([(v // 1_000_000).cast(pl.String), grp((v // 1_000) % 1_000), grp(v % 1_000)], separator=","))
        .otherwise(
            pl.concat_str(
                [
                    (v // 1_000_000_000).cast(pl.String),
                    grp((v // 1_000_000) % 1_000),
                    grp((v // 1_000) % 1_000),
                    grp(v % 1_000),
                ],
                separator=",",
            )
        )
    )


def fmt_pct(share: pl.Expr) -> pl.Expr:
    """A share in [0, 1] as a whole percentage (``92%``)."""
    return pl.concat_str([(share * 100).round(0).cast(pl.Int64).cast(pl.String), pl.lit("%")])


def fmt_num(x: pl.Expr, decimals: int = 1) -> pl.Expr:
    """A float rounded to ``decimals`` places."""
    return x.round(decimals).cast(pl.String)


def robust_z(x: pl.Expr, min_scale: float) -> pl.Expr:
    """Robust z-score of ``log1p(x)`` across all rows: (value - median) / (1.4826 * MAD), the scale floored
    at ``min_scale`` so that a population of near-identical entities does not turn small differences into
    huge z-scores."""
    lx = x.cast(pl.Float64).log1p()
    med = lx.median()
    scale = pl.max_horizontal((lx - med).abs().median() * _MAD_TO_SIGMA, pl.lit(min_scale))
    return (lx - med) / scale


class VolumeDetector(Detector):
    """Request and token volume per active day and the peak hourly rate, relative to the population.

    **What it measures.** For each entity: requests per active day (UTC days with at least one request),
    tokens (input + output) per active day and the largest number of requests in one clock hour. Each is
    compared with the population on a log scale by a robust z-score (median and MAD across entities); the
    value is the largest of the three z-scores. The score ramps from ``z_lo`` to ``z_hi`` and is gated by an
    absolute floor (``min_requests_per_day`` / ``min_tokens_per_day``), so that an outlier among tiny accounts
    is not flagged for a few dozen requests.

    **Why it indicates extraction.** Distillation needs very many answers: campaigns run thousands to millions
    of requests, far above what a person or a typical application sends. Volume alone proves nothing, but it
    is the context that makes the other signals matter, so its weight is moderate.

    **Evidence.** The requests per day, tokens per day and peak hour with the population median and z-score in
    the summary; the first requests of the entity as examples.

    **Known false positives.** Every busy legitimate application (support bots, classifiers, batch enrichment
    jobs, evaluation runs) is high-volume. (Missed: hydra networks spread their load over many accounts to
    stay below it.)
    """

    id: ClassVar[str] = "ES101"
    name: ClassVar[str] = "volume"
    summary: ClassVar[str] = "Requests and tokens per active day and peak per hour, far above the population"
    weight: ClassVar[float] = 0.6

    @dataclass(frozen=True)
    class Params:
        z_lo: float = 2.0  # robust z (log scale) where the score starts to rise
        z_hi: float = 5.0  # robust z where the score reaches 1
        min_scale: float = 0.5  # floor of 1.4826 * MAD (natural-log units): at least ~1.65x counts as 1 z
        min_requests_per_day: float = 50.0  # below this many requests/day (and few tokens) the score is 0
        full_requests_per_day: float = 200.0  # requests/day at which the absolute gate is fully open
        min_tokens_per_day: float = 50_000.0  # tokens/day that also start to open the absolute gate
        full_tokens_per_day: float = 250_000.0  # tokens/day at which the absolute gate is fully open
        full_confidence_requests: float = 100.0  # requests at which confidence reaches 1
        min_population: int = 20  # entities needed for a fully confident population comparison

    def features(self, frame: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        f = frame.select(
            "entity_id",
            "ts",
            (pl.col("input_tokens").fill_null(0) + pl.col("output_tokens").fill_null(0)).alias("tokens"),
            (pl.col("input_tokens").is_not_null() | pl.col("output_tokens").is_not_null()).alias("has_tokens"),
        )
        peak = (
            f.filter(pl.col("ts").is_not_null())
            .group_by("entity_id", (pl.col("ts") // 3600).alias("hour"))
            .len()
            .group_by("entity_id")
            .agg(pl.col("len").max().alias("peak_hour"))
        )
        per = f.group_by("entity_id").agg(
            pl.len().alias("n"),
            (pl.col("ts") // 86_400).drop_nulls().n_unique().alias("active_days"),
            pl.col("tokens").sum().alias("tokens"),
            pl.col("has_tokens").sum().alias("n_with_tokens"),
        )
        ex = top_examples(frame, pl.lit(True), 3, ctx.config.report.example_chars)
        return (
            per.join(peak, on="entity_id", how="left")
            .join(ex, on="entity_id", how="left")
            .with_columns(pl.col("peak_hour").fill_null(0))
            .sort("entity_id")
        )

    def score(self, features: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if features.is_empty():
            return result_frame(pl.DataFrame(schema=RESULT_SCHEMA))
        days = pl.col("active_days").clip(1, None).cast(pl.Float64)
        f = features.with_columns(
            (pl.col("n") / days).alias("req_day"),
            pl.when(pl.col("n_with_tokens") > 0).then(pl.col("tokens") / days).alias("tok_day"),
        )
        f = f.with_columns(
            robust_z(pl.col("req_day"), p.min_scale).alias("z_req"),
            robust_z(pl.col("tok_day"), p.min_scale).alias("z_tok"),
            robust_z(pl.col("peak_hour"), p.min_scale).alias("z_peak"),
            pl.col("req_day").median().alias("pop_req_day"),
            pl.len().alias("n_pop"),
        )
        z = pl.max_horizontal("z_req", "z_tok", "z_peak")
        gate = pl.max_horizontal(
            ramp(pl.col("req_day"), p.min_requests_per_day, p.full_requests_per_day),
            ramp(pl.col("tok_day").fill_null(0.0), p.min_tokens_per_day, p.full_tokens_per_day),
        )
        summary = pl.concat_str(
            [
                fmt_int(pl.col("req_day")),
                pl.lit(" requests/day on "),
                fmt_int(pl.col("active_days")),
                pl.lit(" active day(s) (population median "),
                fmt_int(pl.col("pop_req_day")),
                pl.lit(", z="),
                fmt_num(z),
                pl.lit("); peak "),
                fmt_int(pl.col("peak_hour")),
                pl.lit("/hour"),
                pl.when(pl.col("tok_day").is_not_null()).then(
                    pl.concat_str([pl.lit("; "), fmt_int(pl.col("tok_day")), pl.lit(" tokens/day")])
                ),
            ],
            ignore_nulls=True,
        )
        out = f.with_columns(
            z.alias("value"),
            (ramp(z, p.z_lo, p.z_hi) * gate).alias("score"),
            (
                volume_confidence(pl.col("n"), p.full_confidence_requests)
                * (pl.col("n_pop").cast(pl.Float64) / p.min_population).clip(0.0, 1.0)
            ).alias("confidence"),
            summary.alias("summary"),
        )
        return result_frame(out)

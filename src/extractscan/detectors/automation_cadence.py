"""ES111 automation cadence: machine-regular, round-the-clock, concurrent request timing."""

from __future__ import annotations

import math
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
from extractscan.detectors.volume import fmt_int, fmt_num, fmt_pct


class AutomationCadenceDetector(Detector):
    """Request timing that no person produces: metronome-regular gaps, flat round-the-clock activity,
    concurrent requests and sustained machine-rate bursts.

    **What it measures.** Over the gaps between consecutive requests of an entity that lie between
    ``min_gap_s`` and ``session_gap_s`` (shorter ones are concurrency, longer ones breaks): the coefficient of
    variation (the value; Poisson arrivals give 1, people more, a scheduler far less) and the share of gaps
    within one log-bin (``gap_bin_ratio``) of the modal gap. Also the normalised entropy of the hour-of-day
    histogram (24 UTC bins, Miller-Madow corrected; 1 = flat), counted only for entities active over at least
    ``flat_min_span_h``; the share of requests sharing their second with another (concurrency); the share in
    minutes with >= ``burst_per_minute`` requests. Score: a weighted noisy-OR of regularity (low CV or a
    dominant modal gap), flatness and, with a small weight, speed. Regularity counts fully only for
    sustained traffic: with a duty cycle (clock hours with requests / hours spanned) below ``duty_lo`` it is
    scaled down to ``burst_only_factor`` (a benchmark run or batch firing as fast as answers come back).

    **Why it indicates extraction.** Harvesting scripts run from schedulers and worker pools: fixed sleeps or
    rate limits give regular gaps, the job runs day and night, and workers fire in parallel. People work in
    diurnal sessions, with bursts separated by reading and thinking time.

    **Evidence.** Requests at the modal gap or concurrent (ids and prompts); CV, modal gap, hour coverage and
    entropy, concurrency and burst shares in the summary.

    **Known false positives.** Every automated client: cron jobs and monitors (regular), global
    round-the-clock services and support bots (flat), benchmark and evaluation runs (bursts, concurrency;
    their gaps follow model latency, so regularity stays partial). Speed alone therefore weighs little.
    """

    id: ClassVar[str] = "ES111"
    name: ClassVar[str] = "automation_cadence"
    summary: ClassVar[str] = "Metronome-regular, round-the-clock or concurrent request timing"
    weight: ClassVar[float] = 0.7

    @dataclass(frozen=True)
    class Params:
        min_gap_s: float = 0.1  # shorter gaps are simultaneous requests, left out of regularity
        session_gap_s: float = 1800.0  # longer gaps are breaks between sessions, left out of regularity
        cv_lo: float = 0.3  # gap CV at or below this is fully regular
        cv_hi: float = 0.7  # gap CV at or above this is not regular (Poisson = 1)
        gap_bin_ratio: float = 1.2  # log-bin width of gaps: the modal share counts the modal bin +- 1 bin
        modal_lo: float = 0.35  # share of gaps near the modal gap where regularity starts (Poisson ~0.2)
        modal_hi: float = 0.75  # share of gaps near the modal gap giving full regularity
        min_gaps: int = 5  # fewer gaps give no regularity score; it is full from 4x this
        flat_lo: float = 0.92  # normalised hour-of-day entropy where flatness starts (diurnal ~0.6-0.9)
        flat_hi: float = 0.98  # normalised entropy giving full flatness (a flat script ~0.99+)
        flat_min_span_h: float = 20.0  # flatness needs activity spanning at least this many hours ...
        flat_full_span_h: float = 48.0  # ... and is fully trusted from this span
        flat_min_requests: int = 48  # flatness needs this many requests; fully trusted from 3x this
        burst_per_minute: int = 10  # a minute with this many requests is machine-rate
        conc_lo: float = 0.1  # share of concurrent requests where the speed component starts
        conc_hi: float = 0.5  # share of concurrent requests giving full speed component
        burst_lo: float = 0.2  # share of requests in machine-rate minutes where the speed component starts
        burst_hi: float = 0.6  # share in machine-rate minutes giving full speed component
        w_regular: float = 0.85  # noisy-OR weight of regularity
        w_flat: float = 0.7  # noisy-OR weight of round-the-clock flatness
        w_speed: float = 0.25  # noisy-OR weight of concurrency / machine-rate bursts (benchmarks do it too)
        duty_lo: float = 0.25  # share of clock hours in the active span with requests: below, bursts only
        duty_hi: float = 0.75  # duty cycle from which regular traffic counts as sustained
        burst_only_factor: float = 0.4  # part of the regularity kept for traffic in short bursts only
        full_confidence_requests: float = 100.0  # requests at which confidence reaches 1

    def features(self, frame: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        log_ratio = math.log(p.gap_bin_ratio)
        f = (
            frame.filter(pl.col("ts").is_not_null())
            .select("entity_id", "ts", "record_id", "text")
            .sort("entity_id", "ts", "record_id")
            .with_columns(pl.col("ts").diff().over("entity_id").alias("gap"))
            .with_columns(
                (pl.len().over("entity_id", pl.col("ts").floor()) >= 2).alias("_concurrent"),
                (pl.len().over("entity_id", pl.col("ts") // 60) >= p.burst_per_minute).alias("_burst"),
                ((pl.col("ts") % 86_400) // 3600).cast(pl.Int32).alias("_hour"),
                pl.when((pl.col("gap") >= p.min_gap_s) & (pl.col("gap") <= p.session_gap_s))
                .then((pl.col("gap").log() / log_ratio).floor().cast(pl.Int64))
                .alias("_bin"),
            )
        )
        # Modal gap: the log-bin whose neighbourhood (bin +- 1) holds most gaps; ties go to the shorter gap.
        bins = f.drop_nulls("_bin").group_by("entity_id", "_bin").len()
        modal = (
            pl.concat([bins.with_columns(pl.col("_bin") + d) for d in (-1, 0, 1)])
            .group_by("entity_id", "_bin")
            .agg(pl.col("len").sum())
            .sort(["entity_id", "len", "_bin"], descending=[False, True, False])
            .group_by("entity_id", maintain_order=True)
            .first()
            .rename({"_bin": "modal_bin", "len": "n_modal"})
        )
        # Hour-of-day entropy (natural log) with the Miller-Madow bias correction.
        hours = (
            f.group_by("entity_id", "_hour")
            .len()
            .with_columns((pl.col("len") / pl.col("len").sum().over("entity_id")).alias("_p"))
            .group_by("entity_id")
            .agg(
                (-(pl.col("_p") * pl.col("_p").log()).sum()).alias("_h"),
                pl.len().alias("hours_active"),
                pl.col("len").sum().alias("_n"),
            )
            .select(
                "entity_id",
                "hours_active",
                ((pl.col("_h") + (pl.col("hours_active") - 1) / (2 * pl.col("_n"))) / math.log(24))
                .clip(0.0, 1.0)
                .alias("hour_entropy"),
            )
        )
        f = f.join(modal.select("entity_id", "modal_bin"), on="entity_id", how="left")
        near_mode = ((pl.col("_bin") - pl.col("modal_bin")).abs() <= 1).fill_null(False)
        per = f.group_by("entity_id").agg(
            pl.len().alias("n"),
            pl.col("_bin").is_not_null().sum().alias("n_gaps"),
            pl.col("gap").filter(pl.col("_bin").is_not_null()).mean().alias("gap_mean"),
            pl.col("gap").filter(pl.col("_bin").is_not_null()).std().alias("gap_std"),
            pl.col("gap").filter(near_mode).median().alias("modal_gap"),
            pl.col("_concurrent").mean().alias("conc_share"),
            pl.col("_burst").mean().alias("burst_share"),
            ((pl.col("ts").max() - pl.col("ts").min()) / 3600).alias("span_h"),
            (pl.col("ts") // 3600).n_unique().alias("clock_hours"),
            ((pl.col("ts") // 3600).max() - (pl.col("ts") // 3600).min() + 1).alias("hour_span"),
        )
        ex = top_examples(f, pl.col("_concurrent") | near_mode, 5, ctx.config.report.example_chars).with_columns(
            pl.col("examples").list.head(3)
        )
        return (
            per.join(modal.select("entity_id", "n_modal"), on="entity_id", how="left")
            .join(hours, on="entity_id", how="left")
            .join(ex, on="entity_id", how="left")
            .with_columns(pl.col("n_modal").fill_null(0))
            .sort("entity_id")
        )

    def score(self, features: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if features.is_empty():
            return result_frame(pl.DataFrame(schema=RESULT_SCHEMA))
        cv = pl.col("gap_std") / pl.col("gap_mean")
        modal_share = pl.when(pl.col("n_gaps") > 0).then(pl.col("n_modal") / pl.col("n_gaps"))
        f = features.with_columns(cv.alias("cv"), modal_share.alias("modal_share"))
        regular = pl.max_horizontal(
            ramp(-pl.col("cv"), -p.cv_hi, -p.cv_lo), ramp(pl.col("modal_share"), p.modal_lo, p.modal_hi)
        ).fill_null(0.0) * ramp(pl.col("n_gaps").cast(pl.Float64), p.min_gaps - 1, 4 * p.min_gaps)
        # Duty cycle: clock hours with requests over the hours the activity spans. Regular gaps inside short
        # bursts (a benchmark run, a batch) weigh less than regular traffic sustained for hours.
        duty = pl.col("clock_hours") / pl.col("hour_span")
        sustained = p.burst_only_factor + (1.0 - p.burst_only_factor) * ramp(duty, p.duty_lo, p.duty_hi)
        flat = (
            ramp(pl.col("hour_entropy"), p.flat_lo, p.flat_hi).fill_null(0.0)
            * ramp(pl.col("span_h"), p.flat_min_span_h, p.flat_full_span_h).fill_null(0.0)
            * ramp(pl.col("n").cast(pl.Float64), p.flat_min_requests - 1, 3 * p.flat_min_requests)
        )
        speed = pl.max_horizontal(
            ramp(pl.col("conc_share"), p.conc_lo, p.conc_hi),
            ramp(pl.col("burst_share"), p.burst_lo, p.burst_hi),
        ).fill_null(0.0)
        keep = (1.0 - p.w_regular * regular * sustained) * (1.0 - p.w_flat * flat) * (1.0 - p.w_speed * speed)
        summary = pl.concat_str(
            [
                pl.when(pl.col("n_gaps") >= 2).then(
                    pl.concat_str(
                        [
                            pl.lit("gap CV "),
                            fmt_num(pl.col("cv"), 2),
                            pl.lit(" ("),
                            fmt_pct(pl.col("modal_share")),
                            pl.lit(" of "),
                            fmt_int(pl.col("n_gaps")),
                            pl.lit(" gaps near "),
                            fmt_num(pl.col("modal_gap"), 1),
                            pl.lit(" s)"),
                        ]
                    )
                ),
                pl.concat_str(
                    [
                        pl.lit("active in "),
                        pl.col("hours_active").fill_null(0).cast(pl.String),
                        pl.lit("/24 hours of day (entropy "),
                        fmt_num(pl.col("hour_entropy").fill_null(0.0), 2),
                        pl.lit(") over "),
                        fmt_int(pl.col("span_h")),
                        pl.lit(" h"),
                    ]
                ),
                pl.concat_str([fmt_pct(pl.col("conc_share")), pl.lit(" concurrent")]),
                pl.concat_str([fmt_pct(pl.col("burst_share")), pl.lit(" in machine-rate minutes")]),
            ],
            separator="; ",
            ignore_nulls=True,
        )
        out = f.with_columns(
            pl.col("cv").alias("value"),
            (1.0 - keep).alias("score"),
            volume_confidence(pl.col("n"), p.full_confidence_requests).alias("confidence"),
            pl.concat_str([fmt_int(pl.col("n")), pl.lit(" requests: "), summary]).alias("summary"),
        )
        return result_frame(out)

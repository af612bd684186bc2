"""ES110 conversation shape: one-shot prompts without follow-ups, against the population."""

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
from extractscan.detectors.volume import fmt_int, fmt_pct


class ConversationShapeDetector(Detector):
    """Share of one-shot requests: single-turn prompts that are never followed up, against the population.

    **What it measures.** A request is a *follow-up* when it carries earlier user turns (``n_user_turns`` >=
    2, or ``n_messages`` >= 3 when user turns are unknown) and its history (``prefix_hash``) is not re-used by
    more than ``max_prefix_reuse`` requests of the entity, or when it continues a session (same
    ``session_id``, more messages than the session's first request). Every other request is one-shot. The
    value is the one-shot share among requests whose turns or session are known. The score ramps from
    ``single_lo`` to ``single_hi`` and is scaled by how far the share exceeds the population baseline (the
    ``population_quantile`` of the one-shot shares of entities with ``min_reference_requests`` known requests:
    robust to campaigns spread over many accounts); ``population_floor`` of the score remains when the
    population is just as one-shot.

    **Why it indicates extraction.** People chat: they ask, read, and follow up in the same thread. A
    harvester fires independent prompts, keeps each answer and never replies to it. Multi-turn requests that
    all share one fixed history are a few-shot template, not a conversation, and count as one-shot.

    **Evidence.** One-shot requests (ids and prompts); the share, the number of follow-ups and of templated
    multi-turn requests, and the population baseline in the summary.

    **Known false positives.** Every single-call integration: classifiers, extraction and enrichment
    pipelines, search-answer features, batch jobs. Logs without turn or session information give no signal
    (low confidence).
    """

    id: ClassVar[str] = "ES110"
    name: ClassVar[str] = "conversation_shape"
    summary: ClassVar[str] = "Single-turn prompts with no follow-ups, unlike people who chat"
    weight: ClassVar[float] = 0.5

    @dataclass(frozen=True)
    class Params:
        single_lo: float = 0.85  # one-shot share where the score starts to rise
        single_hi: float = 0.98  # one-shot share where the absolute part of the score reaches 1
        excess_hi: float = 0.25  # one-shot share above the population baseline giving the full score
        population_floor: float = 0.5  # part of the score kept when the population is just as one-shot
        max_prefix_reuse: int = 3  # a history re-used by more requests is a fixed few-shot prefix
        min_reference_requests: int = 10  # entities with this many known requests form the population
        population_quantile: float = 0.25  # baseline: this quantile of the reference entities' shares
        full_confidence_requests: float = 50.0  # known requests at which confidence reaches 1

    def features(self, frame: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        turns = pl.coalesce(
            pl.col("n_user_turns"),
            pl.when(pl.col("n_messages").is_not_null()).then((pl.col("n_messages") >= 3).cast(pl.Int32) + 1),
        )
        reuse = pl.when(pl.col("prefix_hash").is_not_null()).then(pl.len().over("entity_id", "prefix_hash"))
        sess = pl.col("session_id").is_not_null()
        in_session = (
            sess
            & (pl.len().over("entity_id", "session_id") >= 2)
            & (pl.col("n_messages") > pl.col("n_messages").min().over("entity_id", "session_id")).fill_null(False)
        )
        f = frame.with_columns(
            (turns >= 2).fill_null(False).alias("_multi"),
            (reuse > p.max_prefix_reuse).fill_null(False).alias("_templated"),
            in_session.alias("_in_session"),
            (turns.is_not_null() | sess).alias("_known"),
        ).with_columns(
            ((pl.col("_multi") & ~pl.col("_templated")) | pl.col("_in_session")).alias("_followup"),
        )
        per = f.group_by("entity_id").agg(
            pl.len().alias("n"),
            pl.col("_known").sum().alias("n_known"),
            (pl.col("_followup") & pl.col("_known")).sum().alias("n_followup"),
            (pl.col("_multi") & pl.col("_templated") & ~pl.col("_followup")).sum().alias("n_templated_multi"),
        )
        ex = top_examples(f, pl.col("_known") & ~pl.col("_followup"), 5, ctx.config.report.example_chars).with_columns(
            pl.col("examples").list.head(3)
        )
        return per.join(ex, on="entity_id", how="left").sort("entity_id")

    def score(self, features: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if features.is_empty():
            return result_frame(pl.DataFrame(schema=RESULT_SCHEMA))
        single = pl.when(pl.col("n_known") > 0).then(1.0 - pl.col("n_followup") / pl.col("n_known"))
        f = features.with_columns(single.alias("single"))
        ref = f.filter(pl.col("n_known") >= p.min_reference_requests)
        if ref.height == 0:
            ref = f
        pop = ref.select(pl.col("single").quantile(p.population_quantile, "lower")).item()
        baseline = float(pop) if pop is not None else 0.0
        excess = ramp(pl.col("single") - baseline, 0.0, p.excess_hi)
        score = ramp(pl.col("single"), p.single_lo, p.single_hi) * (p.population_floor + (1.0 - p.population_floor) * excess)
        summary = pl.concat_str(
            [
                fmt_pct(pl.col("single")),
                pl.lit(" of "),
                fmt_int(pl.col("n_known")),
                pl.lit(" requests are one-shot, "),
                fmt_int(pl.col("n_followup")),
                pl.lit(" follow-up(s) (population "),
                fmt_pct(pl.lit(baseline)),
                pl.lit(")"),
                pl.when(pl.col("n_templated_multi") > 0).then(
                    pl.concat_str(
                        [
                            pl.lit("; "),
                            fmt_int(pl.col("n_templated_multi")),
                            pl.lit(" multi-turn reuse a fixed prefix"),
                        ]
                    )
                ),
            ],
            ignore_nulls=True,
        )
        out = f.with_columns(
            pl.col("single").alias("value"),
            score.fill_null(0.0).alias("score"),
            volume_confidence(pl.col("n_known"), p.full_confidence_requests).alias("confidence"),
            pl.when(pl.col("n_known") > 0).then(summary).otherwise(pl.lit("no turn or session information")).alias("summary"),
        )
        return result_frame(out)

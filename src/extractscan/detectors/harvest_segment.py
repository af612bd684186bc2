"""ES114 harvest_segment: a run of harvest requests hidden in an account's ordinary traffic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import polars as pl
from scipy.stats import binom

from extractscan.detectors.base import Detector, ScanContext, on_distinct, ramp, result_frame, volume_confidence
from extractscan.detectors.reasoning_elicitation import ELICIT_REGEX, column, pct
from extractscan.detectors.rubric_grading import RUBRIC_REGEX

_FEATURES: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "n": pl.Int64(),  # requests
    "k": pl.Int64(),  # harvest requests
    "seg_n": pl.Int64(),  # requests of the client segment with the highest harvest share
    "seg_k": pl.Int64(),  # ... and its harvest requests
    "segments": pl.Int64(),  # client segments with at least min_segment_requests requests
    "seg_client": pl.String(),  # the segment's user agent (evidence)
    "request_ids": pl.List(pl.String()),
    "examples": pl.List(pl.String()),
}


def binomial_surprise(k: np.ndarray, n: np.ndarray, p: float) -> np.ndarray:
    """``-log10 P(X >= k)`` for X ~ Binomial(n, p): how surprising k harvest requests out of n are when each
    request is one with probability p. 0 when k is 0."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    tail = binom.sf(k - 1.0, n, p)
    with np.errstate(divide="ignore"):
        out = -np.log10(np.clip(tail, 1e-300, 1.0))
    return np.where(k > 0, out, 0.0)


class HarvestSegment(Detector):
    """How surprising an account's number of *harvest requests* is, over the whole account and over its most
    harvest-heavy client segment, against the population's rate.

    **What it measures.** A request is a harvest request when it both asks for the reasoning or a grading
    (the ES106 elicitation or ES107 rubric phrase sets match its user or system text) *and* is built for a
    long answer (``max_output_tokens`` >= ``high_max_tokens``, >= ``long_output_tokens`` output tokens, ``n``
    > 1 or logprobs). ``k`` of an account's ``n`` requests are harvest requests; the population rate ``p0`` is
    the ``population_quantile`` of the shares of accounts with at least ``min_requests`` requests, at least
    ``prior_rate`` and at most ``max_rate``. The surprise is ``-log10 P(X >= k)`` for X ~ Binomial(n, p0): the
    same for the account's client segment (requests sharing one user agent and API key) with the highest harvest share, less
    ``log10`` of the number of segments compared (a multiple-testing correction). ``value`` is the larger
    surprise; the score ramps it from ``surprise_lo`` to ``surprise_hi``, multiplied by a ramp of the harvest
    share in excess of ``p0`` (the account's, or the segment's when that wins) from ``share_lo`` to
    ``share_hi``.

    **Why it indicates extraction.** The share-based detectors (ES106, ES109) compare the *share* of such
    requests with the population, so an account that mixes a harvest run into ordinary use — a person's
    account whose script sends a few hundred "solve step by step" prompts at the model's maximum output, or a
    hydra member padded with filler — stays under their ramps. The count of requests that carry both intents
    at once is what such mixing cannot hide: ordinary users almost never ask for written-out reasoning *and*
    the longest answer, and a script usually runs under its own client (user agent, key), where the share is
    the whole segment.

    **Evidence.** The harvest requests (ids and prompts, earliest first), k of n for the account and for the
    segment with its user agent, and the population rate.

    **Known false positives.** Tutoring and reasoning-benchmark tools whose every request asks for
    step-by-step answers with a large output budget (they also score on ES106 and ES109); an analyst's
    evaluation script run from a personal account.
    """

    id: ClassVar[str] = "ES114"
    name: ClassVar[str] = "harvest_segment"
    summary: ClassVar[str] = "Requests asking for the reasoning and a maximal answer at once, even mixed into ordinary traffic"
    weight: ClassVar[float] = 2.5

    @dataclass(frozen=True)
    class Params:
        high_max_tokens: int = 8000  # max_output_tokens at or above this asks for a maximal answer
        long_output_tokens: int = 1500  # ... as does an answer with this many output tokens
        prior_rate: float = 0.01  # the population harvest rate is never taken below this
        max_rate: float = 0.1  # ... nor above this (a campaign-heavy population must not make it normal)
        min_requests: int = 10  # accounts with fewer requests do not enter the population rate
        min_population: int = 5  # accounts needed to use the population rate (else prior_rate)
        population_quantile: float = 0.25  # the population rate: this quantile of the accounts' harvest shares
        min_segment_requests: int = 3  # client segments smaller than this are not compared on their own
        surprise_lo: float = 3.0  # -log10 tail probability where the score starts to rise
        surprise_hi: float = 5.0  # ... and where it reaches 1
        share_lo: float = 0.02  # harvest share above p0 where the share factor starts to rise
        share_hi: float = 0.08  # ... and where it reaches 1
        full_confidence_at: float = 6.0  # harvest requests for full confidence
        evidence_rows: int = 5  # request ids reported

    def features(self, frame: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if frame.height == 0:
            return pl.DataFrame(schema=_FEATURES)
        text = pl.col("text").fill_null("")
        system = column(frame, "system_text", pl.String()).fill_null("")
        # once per distinct prompt / system prompt (they repeat)
        asks = on_distinct(
            text, lambda t: t.str.contains(ELICIT_REGEX) | t.str.contains(RUBRIC_REGEX), pl.Boolean()
        ) | on_distinct(system, lambda t: t.str.contains(ELICIT_REGEX), pl.Boolean())
        long = (
            (pl.col("max_output_tokens") >= p.high_max_tokens).fill_null(False)
            | (pl.col("output_tokens") >= p.long_output_tokens).fill_null(False)
            | (pl.col("n_requested") > 1).fill_null(False)
            | (pl.col("n_response_choices") > 1).fill_null(False)
            | pl.col("logprobs").fill_null(False)
        )
        df = frame.select(
            "entity_id",
            "ts",
            "record_id",
            "text",
            "user_agent",
            (asks & long).alias("_h"),
            pl.concat_str([pl.col("user_agent").fill_null("-"), pl.col("api_key_id").fill_null("-")], separator="\x1f").alias(
                "_seg"
            ),
        )
        per = df.group_by("entity_id").agg(pl.len().cast(pl.Int64).alias("n"), pl.col("_h").sum().cast(pl.Int64).alias("k"))
        seg = (
            df.group_by("entity_id", "_seg")
            .agg(
                pl.len().cast(pl.Int64).alias("seg_n"),
                pl.col("_h").sum().cast(pl.Int64).alias("seg_k"),
                pl.col("user_agent").first().alias("seg_client"),
            )
            .filter(pl.col("seg_n") >= p.min_segment_requests)
        )
        n_seg = seg.group_by("entity_id").agg(pl.len().cast(pl.Int64).alias("segments"))
        # The most harvest-heavy segment (share, then size, then key for determinism).
        best = (
            seg.with_columns((pl.col("seg_k") / pl.col("seg_n")).alias("_share"))
            .sort(["entity_id", "_share", "seg_n", "_seg"], descending=[False, True, True, False])
            .group_by("entity_id", maintain_order=True)
            .first()
            .select("entity_id", "seg_n", "seg_k", "seg_client")
        )
        ev = (
            df.filter(pl.col("_h"))
            .sort(["entity_id", "ts", "record_id"], nulls_last=True)
            .group_by("entity_id", maintain_order=True)
            .agg(
                pl.col("record_id").head(p.evidence_rows).alias("request_ids"),
                pl.col("text").head(3).str.slice(0, ctx.config.report.example_chars).alias("examples"),
            )
        )
        out = (
            per.join(best, on="entity_id", how="left")
            .join(n_seg, on="entity_id", how="left")
            .join(ev, on="entity_id", how="left")
            .with_columns(
                pl.col("seg_n").fill_null(0),
                pl.col("seg_k").fill_null(0),
                pl.col("segments").fill_null(0),
                pl.col("request_ids").fill_null(pl.lit([], dtype=pl.List(pl.String()))),
                pl.col("examples").fill_null(pl.lit([], dtype=pl.List(pl.String()))),
            )
        )
        return out.select([pl.col(k).cast(v) for k, v in _FEATURES.items()]).sort("entity_id")

    def score(self, features: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if features.height == 0:
            return result_frame(pl.DataFrame(schema={"entity_id": pl.String()}))
        df = features.with_columns((pl.col("k") / pl.col("n").cast(pl.Float64)).alias("share"))
        # A low quantile, not the median: in a short window or a small population, extraction accounts can be
        # half of the accounts with enough requests, and must not make harvesting look normal.
        ref = df.filter(pl.col("n") >= p.min_requests)["share"].drop_nulls().drop_nans()
        q = float(ref.quantile(p.population_quantile) or 0.0) if ref.len() >= p.min_population else 0.0
        p0 = min(max(q, p.prior_rate), p.max_rate)
        acct = binomial_surprise(df["k"].to_numpy(), df["n"].to_numpy(), p0)
        segs = df["segments"].to_numpy().astype(np.float64)
        seg = binomial_surprise(df["seg_k"].to_numpy(), df["seg_n"].to_numpy(), p0) - np.log10(np.maximum(segs, 1.0))
        # A segment that is the whole account adds nothing: compare it only when the account has several.
        seg = np.where(segs > 1, np.maximum(seg, 0.0), 0.0)
        df = df.with_columns(
            pl.Series("_acct", acct, dtype=pl.Float64),
            pl.Series("_seg", seg, dtype=pl.Float64),
        ).with_columns(
            (pl.col("_seg") > pl.col("_acct")).alias("_seg_wins"),
            pl.max_horizontal("_acct", "_seg").alias("value"),
        )
        seg_share = pl.when(pl.col("seg_n") > 0).then(pl.col("seg_k") / pl.col("seg_n")).otherwise(0.0)
        share = pl.when(pl.col("_seg_wins")).then(seg_share).otherwise(pl.col("share"))
        df = df.with_columns(
            (ramp(pl.col("value"), p.surprise_lo, p.surprise_hi) * ramp(share - p0, p.share_lo, p.share_hi)).alias("score"),
            volume_confidence(pl.col("k"), p.full_confidence_at).alias("confidence"),
            pl.format(
                "{} of {} requests ask for the reasoning and a maximal answer at once ({}; population {}); "
                "most harvest-heavy client: {} of {} ({}, {}); surprise {} (-log10 p)",
                pl.col("k"),
                pl.col("n"),
                pct(pl.col("share")),
                pct(pl.lit(p0)),
                pl.col("seg_k"),
                pl.col("seg_n"),
                pct(seg_share),
                pl.col("seg_client").fill_null("no user agent").str.slice(0, 60),
                pl.col("value").round(1),
            ).alias("summary"),
        )
        return result_frame(df)

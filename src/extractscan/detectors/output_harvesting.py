"""ES109 output harvesting: requests built to get as much model output per call as possible."""

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

# The per-request flags, in summary order.
_FLAGS = ("high_max", "long", "ratio", "multi", "logprobs")


class OutputHarvestingDetector(Detector):
    """Requests shaped to harvest as much output per call as possible: near-maximum ``max_output_tokens``,
    long answers, answers far longer than the prompt, several choices per prompt, log-probabilities.

    **What it measures.** The share of an entity's requests showing each of: ``max_output_tokens`` at or near
    the maximum (>= ``abs_max_tokens``, or >= ``rel_max_fraction`` of the largest value any entity sent for
    that model when that is at least ``rel_min_tokens`` and above the median of what the model's users
    typically send, for models with ``rel_min_entities`` users); long answers (>= ``long_output_tokens``
    output tokens, or >= ``long_response_chars`` characters when tokens are missing); an output/input token
    ratio >= ``ratio_threshold``; ``n`` > 1 choices; logprobs / top_logprobs on answers of at least
    ``logprobs_min_tokens`` tokens (a classifier reading label probabilities does not count). Each share is
    taken in excess of the population baseline: the ``population_quantile`` of the shares of entities with at
    least ``min_reference_requests`` requests (a setting most entities use is a client default; the low
    quantile stays robust when a campaign spreads over many accounts), ramped between ``share_lo`` and
    ``share_hi`` and combined by a weighted noisy-OR. The value is the largest of the five shares.

    **Why it indicates extraction.** A distiller pays per request and wants training targets: the longest
    complete answers, several samples per prompt (best-of-n, rejection sampling) and, where offered, token
    probabilities (soft labels). Ordinary applications cap output at what their UI needs.

    **Evidence.** The flagged requests (ids and prompts) and the shares with the population baseline in the
    summary.

    **Known false positives.** Clients that always send the model's maximum as a default (some SDKs and chat
    UIs), long-form writing and code-generation tools, research on calibration that reads logprobs of long
    answers.
    """

    id: ClassVar[str] = "ES109"
    name: ClassVar[str] = "output_harvesting"
    summary: ClassVar[str] = "Near-max output tokens, long answers, n > 1, logprobs: output built for harvesting"
    weight: ClassVar[float] = 1.0

    @dataclass(frozen=True)
    class Params:
        abs_max_tokens: int = 8000  # max_output_tokens at or above this is "near the maximum" for any model
        rel_max_fraction: float = 0.8  # ... as is this fraction of the largest value seen for the model
        rel_min_tokens: int = 1024  # the relative rule only applies from this many tokens (small-cap models)
        rel_min_entities: int = 5  # ... and to models with this many entities (their maximum means something)
        long_output_tokens: int = 1500  # an answer with this many output tokens is long
        long_response_chars: int = 6000  # ... or this many characters when output tokens are missing
        ratio_threshold: float = 10.0  # output/input tokens at or above this: answer far longer than prompt
        share_lo: float = 0.2  # excess share (over the population baseline) where a component starts to rise
        share_hi: float = 0.7  # excess share where a component reaches 1
        w_high_max: float = 0.5  # noisy-OR weight of the near-max max_output_tokens component
        w_long: float = 0.6  # noisy-OR weight of the long-answer component
        w_ratio: float = 0.35  # noisy-OR weight of the output/input ratio component
        w_multi: float = 0.45  # noisy-OR weight of the n > 1 component
        w_logprobs: float = 0.35  # noisy-OR weight of the logprobs component
        logprobs_min_tokens: int = 64  # logprobs count only on answers this long (or max_tokens if unknown)
        min_reference_requests: int = 10  # entities with this many requests form the population baseline
        population_quantile: float = 0.25  # baseline: this quantile of the reference entities' shares
        full_confidence_requests: float = 50.0  # requests with known parameters at which confidence is 1

    def _weights(self) -> dict[str, float]:
        p = self.params
        return {
            "high_max": p.w_high_max,
            "long": p.w_long,
            "ratio": p.w_ratio,
            "multi": p.w_multi,
            "logprobs": p.w_logprobs,
        }

    def _phrases(self) -> dict[str, str]:
        p = self.params
        return {
            "high_max": f"ask for >= {p.abs_max_tokens:,} output tokens or near the model's max",
            "long": f"get >= {p.long_output_tokens:,}-token answers",
            "ratio": f"get answers >= {p.ratio_threshold:g}x the prompt",
            "multi": "ask for n > 1 choices",
            "logprobs": "ask for logprobs",
        }

    def features(self, frame: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        mot = pl.col("max_output_tokens")
        out_tok = pl.col("output_tokens")
        in_tok = pl.col("input_tokens")
        f = frame.with_columns(
            pl.coalesce(pl.col("model_requested"), pl.col("model_served"), pl.lit("")).alias("_model"),
            (mot >= p.abs_max_tokens).fill_null(False).alias("_abs_max"),
            ((pl.col("n_requested") > 1).fill_null(False) | (pl.col("n_response_choices") > 1).fill_null(False)).alias("_multi"),
            (
                (pl.col("logprobs").fill_null(False) | (pl.col("top_logprobs") > 0).fill_null(False))
                # logprobs on one-word answers are a classifier reading its label probabilities
                & (pl.coalesce(out_tok, mot) >= p.logprobs_min_tokens).fill_null(True)
            ).alias("_logprobs"),
            (out_tok.is_not_null() | pl.col("response_chars").is_not_null()).alias("_out_known"),
            pl.when(out_tok.is_not_null())
            .then(out_tok >= p.long_output_tokens)
            .otherwise(pl.col("response_chars") >= p.long_response_chars)
            .fill_null(False)
            .alias("_long"),
            (out_tok.is_not_null() & (in_tok > 0).fill_null(False)).alias("_ratio_known"),
            (out_tok.cast(pl.Float64) / in_tok.cast(pl.Float64) >= p.ratio_threshold).fill_null(False).alias("_ratio"),
        )
        # Distinct (model, max_output_tokens) with counts: the model-relative rule needs the population.
        mot_dist = (
            f.filter(mot.is_not_null())
            .group_by("entity_id", "_model", "max_output_tokens")
            .len()
            .sort("entity_id", "_model", "max_output_tokens")
            .group_by("entity_id", maintain_order=True)
            .agg(
                pl.struct(
                    pl.col("_model").alias("model"),
                    pl.col("max_output_tokens").alias("max_tokens"),
                    pl.col("len").alias("count"),
                ).alias("max_tokens_dist")
            )
        )
        per = f.group_by("entity_id").agg(
            pl.len().alias("n"),
            mot.is_not_null().sum().alias("n_max_known"),
            pl.col("_abs_max").sum().alias("n_abs_max"),
            pl.col("_multi").sum().alias("n_multi"),
            pl.col("_logprobs").sum().alias("n_logprobs"),
            pl.col("_out_known").sum().alias("n_out_known"),
            pl.col("_long").sum().alias("n_long"),
            pl.col("_ratio_known").sum().alias("n_ratio_known"),
            pl.col("_ratio").sum().alias("n_ratio"),
        )
        flagged = (
            pl.col("_abs_max")
            | (mot >= p.rel_min_tokens).fill_null(False)
            | pl.col("_multi")
            | pl.col("_logprobs")
            | pl.col("_long")
            | pl.col("_ratio")
        )
        ex = top_examples(f, flagged, 5, ctx.config.report.example_chars).with_columns(pl.col("examples").list.head(3))
        return per.join(mot_dist, on="entity_id", how="left").join(ex, on="entity_id", how="left").sort("entity_id")

    def score(self, features: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if features.is_empty():
            return result_frame(pl.DataFrame(schema=RESULT_SCHEMA))
        # Model-relative "near the maximum": >= rel_max_fraction of the largest value seen for the model and
        # above what its users typically send (the median of the entities' medians), so that a value everyone
        # sends (a client default) does not count; only for models with rel_min_entities users (values >=
        # abs_max_tokens are already counted in n_abs_max).
        dist = (
            features.select("entity_id", "max_tokens_dist")
            .explode("max_tokens_dist")
            .unnest("max_tokens_dist")
            .drop_nulls("max_tokens")
            .sort("entity_id", "model", "max_tokens")
        )
        typical = (
            dist.filter(
                pl.col("count").cum_sum().over("entity_id", "model") >= pl.col("count").sum().over("entity_id", "model") / 2
            )
            .group_by("entity_id", "model")
            .agg(pl.col("max_tokens").first().alias("entity_median"))
            .group_by("model")
            .agg(pl.col("entity_median").median().alias("typical"), pl.len().alias("users"))
        )
        rel = (
            dist.join(typical, on="model", how="left")
            .with_columns(pl.col("max_tokens").max().over("model").alias("model_max"))
            .filter(
                (pl.col("max_tokens") < p.abs_max_tokens)
                & (pl.col("max_tokens") >= p.rel_min_tokens)
                & (pl.col("max_tokens") >= p.rel_max_fraction * pl.col("model_max"))
                & (pl.col("max_tokens") > pl.col("typical"))
                & (pl.col("users") >= p.rel_min_entities)
            )
            .group_by("entity_id")
            .agg(pl.col("count").sum().alias("n_rel_max"))
        )
        f = features.join(rel, on="entity_id", how="left").with_columns(
            (pl.col("n_abs_max") + pl.col("n_rel_max").fill_null(0)).alias("n_high_max")
        )

        def share(num: str, den: str) -> pl.Expr:
            return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den))

        f = f.with_columns(
            share("n_high_max", "n_max_known").alias("share_high_max"),
            share("n_long", "n_out_known").alias("share_long"),
            share("n_ratio", "n_ratio_known").alias("share_ratio"),
            share("n_multi", "n").alias("share_multi"),
            share("n_logprobs", "n").alias("share_logprobs"),
        )
        # Population baseline over entities with enough requests (tiny accounts would drag it to 0).
        ref = pl.col("n") >= p.min_reference_requests
        f = f.with_columns(
            pl.coalesce(
                pl.col(f"share_{k}").filter(ref).quantile(p.population_quantile, "lower"),
                pl.col(f"share_{k}").quantile(p.population_quantile, "lower"),
                0.0,
            ).alias(f"pop_{k}")
            for k in _FLAGS
        )
        weights = self._weights()
        # Each component: the share in excess of the population baseline, ramped, times its weight.
        comps = [
            (ramp(pl.col(f"share_{k}") - pl.col(f"pop_{k}"), p.share_lo, p.share_hi) * weights[k]).fill_null(0.0) for k in _FLAGS
        ]
        keep = pl.lit(1.0)
        for c in comps:
            keep = keep * (1.0 - c)
        phrases = self._phrases()
        parts = [
            pl.when(pl.col(f"share_{k}") > 0).then(
                pl.concat_str(
                    [
                        fmt_pct(pl.col(f"share_{k}")),
                        pl.lit(f" {phrases[k]} (population "),
                        fmt_pct(pl.col(f"pop_{k}")),
                        pl.lit(")"),
                    ]
                )
            )
            for k in _FLAGS
        ]
        detail = pl.concat_str(parts, separator="; ", ignore_nulls=True)
        summary = pl.concat_str(
            [
                pl.lit("of "),
                fmt_int(pl.col("n")),
                pl.lit(" requests: "),
                pl.when(detail != "").then(detail).otherwise(pl.lit("none shows output-harvesting parameters")),
            ]
        )
        # Data behind it: requests whose max_output_tokens or output size is known.
        known = pl.max_horizontal("n_max_known", "n_out_known")
        out = f.with_columns(
            pl.max_horizontal([pl.col(f"share_{k}") for k in _FLAGS]).fill_null(0.0).alias("value"),
            (1.0 - keep).alias("score"),
            volume_confidence(known, p.full_confidence_requests).alias("confidence"),
            summary.alias("summary"),
        )
        # Evidence only where the signal fires (the features keep candidates of the model-relative rule).
        none = pl.lit([], dtype=pl.List(pl.String()))
        out = out.with_columns(
            pl.when(pl.col("score") > 0).then(pl.col(c)).otherwise(none).alias(c) for c in ("request_ids", "examples")
        )
        return result_frame(out)

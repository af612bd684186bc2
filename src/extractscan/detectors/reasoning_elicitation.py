"""ES106 reasoning_elicitation: prompts making the model write out its reasoning (chain-of-thought harvest).

Also home of :class:`PhraseShareDetector`, the shared machinery of the "share of requests that ask for X"
detectors (regex set over the user and system text + semantic similarity of the embedded sample to the
detector's exemplars, compared with the population): ES106 and ES107 rubric_grading use it, and
:func:`population_baseline` is shared with ES108 capability_targeting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import polars as pl

from extractscan.detectors.base import Detector, ScanContext, on_distinct, ramp, result_frame, volume_confidence


def alternation(patterns: tuple[str, ...] | list[str]) -> str:
    """One case-insensitive regex (Rust ``regex`` syntax, as polars uses) matching any of ``patterns``.

    Word boundaries become ASCII ones (``(?-u:\b)``): Rust's lazy DFA cannot run Unicode word boundaries on
    non-ASCII text and falls back to an engine ~100x slower (measured: 13 s -> 0.1 s over 92k real prompts,
    same matches). The patterns are English phrases, so an ASCII boundary means the same thing."""
    body = "|".join(f"(?:{p})" for p in patterns).replace(r"\b", r"(?-u:\b)")
    return "(?i)(?:" + body + ")"


def column(frame: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    """``name`` cast to ``dtype``, or a null literal when the frame lacks the column (older stores)."""
    return pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype)


def pct(x: pl.Expr) -> pl.Expr:
    """A share in [0, 1] as a whole-percent string ("78%")."""
    return pl.format("{}%", (x.fill_null(0.0).fill_nan(0.0) * 100.0).round(0).cast(pl.Int64))


def exemplar_similarity(frame: pl.DataFrame, ctx: ScanContext, detector_id: str) -> pl.Series:
    """Per row of ``frame``: the max cosine between its embedding and the detector's exemplar vectors;
    null for rows that were not embedded (or when the scan has no embeddings / exemplars)."""
    out = np.full(frame.height, np.nan, dtype=np.float64)
    emb = ctx.embeddings
    ex = None if emb is None else emb.exemplar_vectors.get(detector_id)
    usable = emb is not None and ex is not None and len(ex) > 0 and len(emb.vectors) > 0
    if emb is not None and ex is not None and usable and "embedding_row" in frame.columns:
        rows = frame["embedding_row"].cast(pl.Int64).fill_null(-1).to_numpy()
        ok = (rows >= 0) & (rows < len(emb.vectors))
        if ok.any():
            X = np.asarray(emb.vectors, dtype=np.float64)[rows[ok]]
            E = np.asarray(ex, dtype=np.float64).reshape(-1, X.shape[1])
            out[ok] = np.clip(X @ E.T, -1.0, 1.0).max(axis=1)
    return pl.Series("sem_sim", out, dtype=pl.Float64).fill_nan(None)


def population_baseline(
    features: pl.DataFrame, value: str, *, min_requests: int, min_population: int, prior: float, cap: float
) -> float:
    """What a normal entity's ``value`` is: the median over entities with >= ``min_requests`` requests
    (column ``n``) when at least ``min_population`` of them exist, else ``prior``; never above ``cap`` (a
    population dominated by one campaign or one CoT-prompted app must not make the behaviour look
    normal). The median, not the pooled share, so one huge entity cannot set the norm."""
    vals = features.filter(pl.col("n") >= min_requests).get_column(value).drop_nulls().drop_nans()
    base = float(vals.median()) if vals.len() >= max(min_population, 1) else prior  # type: ignore[arg-type]
    return float(min(max(base, 0.0), cap))


class PhraseShareDetector(Detector):
    """Base of the phrase-share detectors (not registered itself: no ``id``).

    A request *matches* when ``user_pattern`` matches its text, ``system_pattern`` its system text,
    :meth:`extra_mask` holds, or (embedded rows only) its max cosine to the detector's exemplars is at
    least ``params.semantic_threshold``. Because only a budgeted sample is embedded, the share is the
    larger of the share over all requests and the share over the embedded sample (when the sample holds at
    least ``params.min_sample`` rows): that is how paraphrases the regexes miss are counted.
    Subclasses set ``user_pattern``, ``system_pattern``, ``what`` (the summary phrase) and a ``Params``
    with the fields read here.
    """

    user_pattern: ClassVar[str] = ""
    system_pattern: ClassVar[str] = ""
    what: ClassVar[str] = "match"  # "ask for step-by-step reasoning"
    extra_tag: ClassVar[str] = ""  # prefix of examples that match through extra_mask only

    _FEATURES: ClassVar[dict[str, pl.DataType]] = {
        "entity_id": pl.String(),
        "n": pl.Int64(),
        "n_user": pl.Int64(),  # user text matched the regex set
        "n_system": pl.Int64(),  # only the system text matched
        "n_extra": pl.Int64(),  # only the subclass's extra mask held (e.g. high reasoning effort)
        "n_semantic": pl.Int64(),  # only the exemplar similarity held
        "n_hit": pl.Int64(),  # any of the above
        "n_emb": pl.Int64(),  # embedded rows
        "n_emb_hit": pl.Int64(),  # embedded rows that match (any way)
        "max_sim": pl.Float64(),
        "request_ids": pl.List(pl.String()),
        "examples": pl.List(pl.String()),
    }

    def extra_mask(self, frame: pl.DataFrame) -> pl.Expr | None:
        """An additional per-request condition that counts as a match (weighted by ``extra_weight``)."""
        return None

    def extra_label(self) -> str:
        return "other"

    def user_mask(self) -> pl.Expr:
        pattern = self.user_pattern
        return on_distinct(pl.col("text").fill_null(""), lambda t: t.str.contains(pattern), pl.Boolean())

    def system_mask(self) -> pl.Expr:
        pattern = self.system_pattern
        return on_distinct(pl.col("system_text").cast(pl.String).fill_null(""), lambda t: t.str.contains(pattern), pl.Boolean())

    def features(self, frame: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if frame.height == 0:
            return pl.DataFrame(schema=self._FEATURES)
        chars = ctx.config.report.example_chars
        extra = self.extra_mask(frame)
        df = frame.with_columns(
            column(frame, "system_text", pl.String()).alias("system_text"),
            column(frame, "embedding_row", pl.Int32()).alias("embedding_row"),
        )
        df = df.with_columns(
            exemplar_similarity(frame, ctx, self.id),
            self.user_mask().alias("_user"),
            self.system_mask().alias("_sys"),
            (extra if extra is not None else pl.lit(False)).fill_null(False).alias("_extra"),
        ).with_columns(
            (pl.col("sem_sim") >= p.semantic_threshold).fill_null(False).alias("_sem"),
            pl.col("embedding_row").is_not_null().alias("_emb"),
        )
        text_hit = pl.col("_user") | pl.col("_sys") | pl.col("_sem")
        df = df.with_columns(text_hit.alias("_text_hit"), (text_hit | pl.col("_extra")).alias("_hit"))
        feats = df.group_by("entity_id").agg(
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("_user").sum().cast(pl.Int64).alias("n_user"),
            (pl.col("_sys") & ~pl.col("_user")).sum().cast(pl.Int64).alias("n_system"),
            (pl.col("_extra") & ~pl.col("_text_hit")).sum().cast(pl.Int64).alias("n_extra"),
            (pl.col("_sem") & ~pl.col("_user") & ~pl.col("_sys")).sum().cast(pl.Int64).alias("n_semantic"),
            pl.col("_hit").sum().cast(pl.Int64).alias("n_hit"),
            pl.col("_emb").sum().cast(pl.Int64).alias("n_emb"),
            (pl.col("_emb") & pl.col("_text_hit")).sum().cast(pl.Int64).alias("n_emb_hit"),
            pl.col("sem_sim").max().alias("max_sim"),
        )
        # Evidence: text matches first (they explain themselves), then extra-only rows; earliest first. Only
        # the rows reported are kept past the sort, and only their example text is built.
        ev = (
            df.filter(pl.col("_hit"))
            .select(
                "entity_id",
                "ts",
                "record_id",
                "text",
                "system_text",
                "_user",
                "_sys",
                "_sem",
                (~pl.col("_text_hit")).alias("_rank"),
            )
            .sort(["entity_id", "_rank", "ts", "record_id"], nulls_last=True)
            .group_by("entity_id", maintain_order=True)
            .head(max(p.evidence_rows, 3))
            .with_columns(
                # What an example shows: the user text, or the system text when only the system prompt asks.
                pl.when(pl.col("_user") | pl.col("_sem"))
                .then(pl.col("text").fill_null(""))
                .when(pl.col("_sys"))
                .then(pl.lit("[system] ") + pl.col("system_text").fill_null(""))
                .otherwise(pl.lit(self.extra_tag) + pl.col("text").fill_null(""))
                .alias("_evidence"),
            )
            .group_by("entity_id", maintain_order=True)
            .agg(
                pl.col("record_id").head(p.evidence_rows).alias("request_ids"),
                pl.col("_evidence").head(3).str.slice(0, chars).alias("examples"),
            )
        )
        out = feats.join(ev, on="entity_id", how="left").with_columns(
            pl.col("request_ids").fill_null(pl.lit([], dtype=pl.List(pl.String()))),
            pl.col("examples").fill_null(pl.lit([], dtype=pl.List(pl.String()))),
        )
        return out.select([pl.col(k).cast(v) for k, v in self._FEATURES.items()]).sort("entity_id")

    def score(self, features: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if features.height == 0:
            return result_frame(pl.DataFrame(schema={"entity_id": pl.String()}))
        n = pl.col("n").cast(pl.Float64)
        sampled = pl.col("n_emb") >= p.min_sample
        text_all = (pl.col("n_hit") - pl.col("n_extra")) / n
        text_sample = pl.when(sampled).then(pl.col("n_emb_hit") / pl.col("n_emb")).otherwise(0.0)
        df = features.with_columns(
            pl.max_horizontal(text_all, text_sample).alias("text_share"),
            (text_sample > text_all).alias("from_sample"),
            (pl.col("n_extra") / n).alias("extra_share"),
        ).with_columns((pl.col("text_share") + p.extra_weight * pl.col("extra_share")).clip(0.0, 1.0).alias("value"))
        base = population_baseline(
            df,
            "value",
            min_requests=p.min_requests,
            min_population=p.min_population,
            prior=p.prior_share,
            cap=p.max_baseline,
        )
        conf = (
            pl.when(pl.col("from_sample"))
            .then(
                pl.min_horizontal(
                    volume_confidence(pl.col("n"), p.full_confidence_at),
                    volume_confidence(pl.col("n_emb"), float(p.min_sample) * 4.0),
                )
            )
            .otherwise(volume_confidence(pl.col("n"), p.full_confidence_at))
        )
        detail = pl.concat_str(
            [
                pl.lit("regex on user text "),
                pct(pl.col("n_user") / n),
                pl.lit(", system prompt only "),
                pct(pl.col("n_system") / n),
                pl.when(pl.col("n_emb") > 0)
                .then(
                    pl.format(
                        ", paraphrases {}, embedded sample {}/{} match (max exemplar cosine {})",
                        pl.col("n_semantic"),
                        pl.col("n_emb_hit"),
                        pl.col("n_emb"),
                        pl.col("max_sim").round(2),
                    )
                )
                .otherwise(pl.lit("")),
                pl.when(pl.col("n_extra") > 0)
                .then(pl.format(", {} {}", pct(pl.col("extra_share")), pl.lit(self.extra_label())))
                .otherwise(pl.lit("")),
            ]
        )
        df = df.with_columns(
            ramp(pl.col("value") - base, p.excess_low, p.excess_high).alias("score"),
            conf.alias("confidence"),
            pl.format(
                "{} of {} requests {} (population {}; {})",
                pct(pl.col("value")),
                pl.col("n"),
                pl.lit(self.what),
                pct(pl.lit(base)),
                detail,
            ).alias("summary"),
        )
        return result_frame(df)


# ------------------------------------------------------------------------------------------------

# Requests to write out the reasoning. Lower-case, Rust regex syntax; matched case-insensitively on the
# last user text and on the system text. Each phrase names the *reasoning* (not just "explain X"), so
# ordinary how-to questions do not match.
_R = r"(?:reasoning|rationale|thought process|thinking|thoughts|logic|line of reasoning|train of thought)"
ELICIT_PATTERNS: tuple[str, ...] = (
    r"\bstep[- ]by[- ]step\b",
    r"\bstep[- ]wise (?:reasoning|solution|explanation|derivation)",
    r"\bchain[- ]of[- ]thoughts?\b",
    r"\bcot (?:reasoning|prompt|style|format)",
    r"\bshow (?:me )?(?:all )?(?:of )?(?:your|the|each|every) (?:full |complete |detailed )?"
    r"(?:work|working|workings|steps|reasoning|calculations?|derivation|thought process|thinking|logic)\b",
    r"\b(?:explain|describe|justify|detail|outline|share|include|provide|give|state|articulate|present|"
    r"verbali[sz]e|document|record|write (?:out|down)|lay out|spell out) (?:us |me )?(?:all )?"
    r"(?:your|the|each|every|its) (?:full |complete |detailed |entire |internal |underlying )?" + _R,
    r"\bwrite (?:out|down) (?:every|each|all|the) (?:intermediate )?steps?\b",
    r"\b(?:let'?s|let us|please|you should|you must|always) think\b",
    r"\bthink(?:ing)? (?:it |this |things |the problem )?(?:through|aloud|out loud|step)",
    r"\bthink (?:carefully|hard|deeply) (?:before|and|first|about each)",
    r"\bwalk (?:me |us )?through (?:your|the|each|every) (?:reasoning|thought process|thinking|logic|"
    r"solution|steps|derivation|calculations?|proof)",
    r"\breason(?:ing)? (?:through|it out|carefully|step|about (?:it|this|each|the problem) (?:first|before|"
    r"carefully|step))",
    r"\bbefore (?:answering|you answer|giving (?:your|the|a) (?:final )?answer|responding|you respond|"
    r"replying)[,:]? (?:\w+ ){0,4}?(?:think|reason|analy[sz]e|work|plan|reflect|deliberate)",
    r"\b(?:first|begin by|start by) (?:think|reason|analy[sz])\w* (?:through|about|out|step|carefully|"
    r"the problem|it)",
    r"</?(?:think|thinking|reasoning|scratchpad|thought|thoughts|rationale)>",
    r"\bscratch ?pad\b",
    r"\bintermediate (?:reasoning|steps|calculations?|results)\b",
    r"\b(?:explain|show|describe) (?:each|every) (?:step|stage)\b",
    r"\bbreak (?:it|this|that|the (?:problem|question|task|solution)) down (?:into|step|piece)",
    r"\bjustify (?:your|each|the) (?:answer|choice|reasoning|response|steps|solution)",
    r"\b(?:explain|show|tell me) how you (?:got|arrived|reached|derived|solved|came up)",
    r"\b(?:reasoning|thinking|thought) (?:trace|process|chain|steps)\b",
    r"\bshow your (?:work|working|reasoning|steps|thinking|thoughts|calculations)\b",
    r"\bexplain your (?:answer|solution|steps|choice)\b",
)
ELICIT_REGEX: str = alternation(ELICIT_PATTERNS)

# High reasoning settings (``reasoning_effort`` values, lower-cased).
_HIGH_EFFORT = ["high", "xhigh", "max", "maximum"]


class ReasoningElicitation(PhraseShareDetector):
    """Share of an entity's requests that ask the model to write out its reasoning.

    **What it measures.** The share of requests whose last user text or system text asks for written-out
    reasoning: "step by step", "show your work", "explain your reasoning", "think aloud", "chain of
    thought", "walk me through your reasoning", "before answering, reason...", ``<thinking>`` tags, a
    scratchpad, in many phrasings (a compiled regex alternation, case-insensitive). When the scan has
    embeddings, rows of the embedded sample whose max cosine to this detector's ``exemplars`` (about twenty
    varied elicitation phrasings) is at least ``semantic_threshold`` also count, which catches paraphrases;
    the share is then the larger of the share over all requests and over the embedded sample. Requests
    with a high ``reasoning_effort`` or a thinking budget of at least ``budget_tokens`` count with weight
    ``extra_weight``. ``value`` is that share; the score ramps its excess over the population (the median
    entity, at most ``max_baseline``; ``prior_share`` when the population is too small) from
    ``excess_low`` to ``excess_high``.

    **Why it indicates extraction.** Distillation wants the teacher's reasoning, not only its answers: the
    2026 campaign reports describe prompts that make the model write its chain of thought out in full,
    on every request, so it can be trained on. Ordinary users ask for it occasionally.

    **Evidence.** Up to five matching request ids and three example prompts (text matches first; the
    system prompt, marked ``[system]``, when only it asks; budget-only requests marked as such); the
    summary splits the share into user-text, system-prompt, paraphrase (semantic) and budget matches.

    **Known false positives.** Maths tutoring and education apps, and products whose system prompt always
    says "think step by step" (every request matches); reasoning-model users who always set a high
    effort. Such entities score here but lack the template, volume and coverage signals of a campaign.
    """

    id: ClassVar[str] = "ES106"
    name: ClassVar[str] = "reasoning_elicitation"
    summary: ClassVar[str] = "Share of requests asking the model to write out its reasoning (chain of thought)"
    requires: ClassVar[frozenset[str]] = frozenset()
    weight: ClassVar[float] = 1.25
    exemplars: ClassVar[tuple[str, ...]] = (
        "Think step by step.",
        "Let's think step by step before giving the final answer.",
        "Show your work.",
        "Explain your reasoning in detail before you answer.",
        "Walk me through your reasoning, one step at a time.",
        "Before answering, reason carefully through the problem.",
        "Write out your full chain of thought.",
        "Think aloud and describe every step of your thought process.",
        "Break the problem down and solve it stage by stage, showing each intermediate result.",
        "Provide a detailed rationale for each step, then state the final answer.",
        "Reason through this carefully and explain how you arrived at the answer.",
        "Put your reasoning inside <thinking> tags and the answer after it.",
        "Use a scratchpad to work out the solution before answering.",
        "Solve the following problem and show all intermediate calculations.",
        "Lay out your logic clearly, step after step, and justify each one.",
        "Describe your thinking process as you work toward the solution.",
        "Derive the result carefully, writing down every step of the derivation.",
        "Explain how you got your answer, including every step.",
        "Go through it slowly and methodically, explaining each step of your thinking.",
        "First analyze the question, then reason it out, then give the answer.",
    )

    user_pattern: ClassVar[str] = ELICIT_REGEX
    system_pattern: ClassVar[str] = ELICIT_REGEX
    what: ClassVar[str] = "ask for step-by-step reasoning"
    extra_tag: ClassVar[str] = "[high reasoning effort / thinking budget] "

    @dataclass(frozen=True)
    class Params:
        semantic_threshold: float = 0.5  # cosine to the nearest exemplar at which an embedded prompt counts
        min_sample: int = 5  # embedded rows needed before the sample share is used
        budget_tokens: int = 8192  # thinking_budget_tokens at or above this count as a reasoning request
        extra_weight: float = 0.3  # weight of requests whose only sign is high effort / a thinking budget
        excess_low: float = 0.15  # share above the population baseline at which the score starts to rise
        excess_high: float = 0.6  # share above the baseline with score 1
        prior_share: float = 0.03  # baseline when fewer than min_population entities are comparable
        max_baseline: float = 0.2  # the baseline never exceeds this (a campaign-heavy population)
        min_population: int = 5  # comparable entities needed to use the population median
        min_requests: int = 5  # entities with fewer requests do not enter the baseline
        full_confidence_at: float = 50.0  # requests for full confidence
        evidence_rows: int = 5  # request ids reported

    params: Any

    def extra_mask(self, frame: pl.DataFrame) -> pl.Expr | None:
        p = self.params
        effort = column(frame, "reasoning_effort", pl.String()).str.to_lowercase().is_in(_HIGH_EFFORT)
        budget = column(frame, "thinking_budget_tokens", pl.Int64()) >= p.budget_tokens
        return effort.fill_null(False) | budget.fill_null(False)

    def extra_label(self) -> str:
        return "set only a high reasoning effort / thinking budget"

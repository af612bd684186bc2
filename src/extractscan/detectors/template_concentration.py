"""ES102 template_concentration: traffic concentrated in a few templates, and slot sweeps through them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import polars as pl

from extractscan.cluster.normalize import distinct_index
from extractscan.detectors.base import Detector, ScanContext, per_distinct, ramp, result_frame, volume_confidence
from extractscan.detectors.reasoning_elicitation import alternation, column, pct

_WORD = r"[\p{L}\p{N}][\p{L}\p{N}'_-]*"
_EDGE_CHARS = 400  # prefix / suffix words are read from this many characters at each end of a prompt
_MASK = r"<[a-z]+>"  # slot tokens of the skeleton (<num>, <q>, <url>, <code>, <id>, <date>, <email>)

# Word frames tried for the slot sweep: (words kept from the start, words kept from the end); the rest is
# the fill. "Explain {X} step by step" is (1, 3); "Write a Python function that {X}" is (6, 0). Order breaks
# ties between equally good frames: frames that keep both ends (where instructions sit) come first.
WORD_FRAMES: tuple[tuple[int, int], ...] = (
    (1, 3), (3, 1), (2, 2), (1, 2), (2, 1), (2, 3), (3, 2), (4, 4), (3, 0), (4, 0), (6, 0), (0, 3), (0, 4),
)  # fmt: skip
_SKELETON = -1  # frame kind codes next to the word frames' index
_SYSTEM = -2

# What the template asks for (matched on the frame's constant text; a frame "asks" when it does for most of
# its requests). Explanations, solutions and generated code are what a harvest wants; labels and letters
# are what a classifier pipeline or a benchmark runner wants.
EXPLAIN_PATTERNS: tuple[str, ...] = (
    r"\b(?:explain|explanation|describe|step[- ]by[- ]step|solve|solution|derive|derivation|prove|proof|"
    r"reason|reasoning|walk (?:me |us )?through|in detail|detailed|teach|tutorial|essay|analy[sz]e|"
    r"elaborate|discuss|write|implement|generate|create|design|develop|build|calculate|compute|code|"
    r"program|function|script)\b",
    r"\bhow (?:do|does|to|can|would|did|is|are)\b",
    r"\bwhy (?:do|does|is|are|did|would)\b",
    r"\bshow (?:your|the|me|all) (?:work|working|steps)",
)
SHORT_PATTERNS: tuple[str, ...] = (
    r"\b(?:classify|classification|categori[sz]e|sentiment|label (?:the|this|each)|tag (?:the|this))\b",
    r"\b(?:answer|respond|reply) (?:with|using) (?:only|just|a single|one|exactly one)\b",
    r"\bonly (?:the|a|one|with the) (?:letter|number|word|label|category|option|digit|choice|final answer)",
    r"\b(?:one|single) word\b",
    r"\byes or no\b|\btrue or false\b",
    r"\b(?:correct|right) (?:letter|option|choice)\b",
    r"\bmultiple[- ]choice\b",
    r"\b(?:output|return|print) only\b",
    r"\b(?:no|without|do not (?:give|add|include)(?: an| any)?) explanations?\b",
    r"\bdo not explain\b",
)


def _chars(e: pl.Expr) -> pl.Expr:
    return e.str.len_chars().cast(pl.Int64)


def _asks(frame_text: pl.Expr) -> list[pl.Expr]:
    return [
        frame_text.str.contains(EXPLAIN_REGEX).alias("ask_explain"),
        frame_text.str.contains(SHORT_REGEX).alias("ask_short"),
    ]


_SHORT_EDGE = 96  # characters read first at each end; the full _EDGE_CHARS only where these hold too few words


def _edge_words(norms: pl.Series, head: int, tail: int, most: int) -> pl.DataFrame:
    """Per text: ``_len`` (characters), ``_head`` (the first ``head`` or more words of its first
    ``_EDGE_CHARS`` characters), ``_tail`` (the last ``tail`` or more words of its last ``_EDGE_CHARS``
    characters) and ``_nw``: its number of words, exact up to ``most + 1`` (only compared with frame
    sizes <= ``most``), 1,000,000 past ``2 * _EDGE_CHARS`` characters.

    Words are matches of ``_WORD``, found left to right. Cutting a text at the end cuts at most its last
    word, and cutting it at the start at most its first: after the first word boundary, the words of a cut
    text are the text's own. So the first ``head`` words of the first ``_SHORT_EDGE`` characters are those
    of the first ``_EDGE_CHARS`` when that window holds more than ``head`` words (likewise at the end; and a
    window never holds more words than the text, so ``most + 1`` words in it settle the count). Only the
    texts whose short windows hold too few words are read to the full edges: the words of 400 + 400 + 800
    characters of every prompt were this detector's largest cost."""
    w = _SHORT_EDGE
    df = norms.alias("norm").to_frame().with_row_index("_i").with_columns(pl.col("norm").str.len_chars().alias("_len"))
    short = df.with_columns(
        pl.col("norm").str.slice(0, w).str.extract_all(_WORD).alias("_head"),
        pl.col("norm").str.slice(-w).str.extract_all(_WORD).alias("_tail"),
    )
    n_head, n_tail, length = pl.col("_head").list.len(), pl.col("_tail").list.len(), pl.col("_len")
    whole = length <= w  # the windows are the whole text
    exact = whole | ((n_head > head) & (n_tail > tail) & ((length > 2 * _EDGE_CHARS) | (n_head > most)))
    fast = short.filter(exact).with_columns(
        pl.when(length > 2 * _EDGE_CHARS)
        .then(pl.lit(1_000_000, dtype=pl.Int32()))
        .when(whole)
        .then(n_head.cast(pl.Int32))
        .otherwise(pl.lit(most + 1, dtype=pl.Int32()))
        .alias("_nw")
    )
    slow = df.join(fast.select("_i"), on="_i", how="anti").with_columns(
        pl.when(length <= 2 * _EDGE_CHARS)
        .then(pl.col("norm").str.slice(0, 2 * _EDGE_CHARS).str.count_matches(_WORD).cast(pl.Int32))
        .otherwise(pl.lit(1_000_000, dtype=pl.Int32()))
        .alias("_nw"),
        pl.col("norm").str.slice(0, _EDGE_CHARS).str.extract_all(_WORD).alias("_head"),
        pl.col("norm").str.slice(-_EDGE_CHARS).str.extract_all(_WORD).alias("_tail"),
    )
    cols = ["_i", "_len", "_nw", "_head", "_tail"]
    return pl.concat([fast.select(cols), slow.select(cols)]).sort("_i").drop("_i")


def _weighted(e: pl.Expr | str) -> pl.Expr:
    """Mean of ``e`` over frames weighted by their ``rows``."""
    x = pl.col(e) if isinstance(e, str) else e
    return (x * pl.col("rows")).sum() / pl.col("rows").sum()


EXPLAIN_REGEX = alternation(EXPLAIN_PATTERNS)
SHORT_REGEX = alternation(SHORT_PATTERNS)


class TemplateConcentration(Detector):
    """Share of an entity's traffic in a few templates, and slot sweeps through them.

    **What it measures.** Two things. *Concentration*: the share of the entity's requests in its top
    ``top_k`` near-duplicate clusters (``cluster_id``) and top ``top_k`` skeletons, with the number of
    distinct prompts. *Slot sweep* (``value``): the share of its requests that run through at most
    ``max_frames`` template frames with many distinct fills. A frame is a skeleton (slots masked), a
    shared system prompt (the whole user turn is the fill), or the same first and/or last words with a
    varying middle ("Explain {X} step by step", "Write a Python function that {X}"); frames are picked
    greedily, largest first, each needing ``min_frame_share`` of the traffic and ``min_frame_fills``
    distinct prompts. Each frame is weighed by its fills and its ask. Fills whose median length is at
    most ``short_fill_chars`` (a topic, a task) count fully; long fills (customer text, documents) are
    discounted by up to ``long_fill_penalty``, reached at ``long_fill_chars``. A frame whose requests
    mostly (``intent_share``) ask for an explanation, a solution or code in the frame's constant text
    (never in the fill) counts fully; one that asks for a
    label, a letter or a one-word answer (or whose median ``max_output_tokens`` is at most
    ``short_answer_tokens``) counts ``short_answer_factor``; others ``neutral_factor`` (a shared system
    prompt with no clear ask only ``system_neutral_factor``: every chat app has one; word and skeleton
    frames are preferred to it when they cover half as many prompts). Score: the sweep share ramped from
    ``sweep_low`` to ``sweep_high``, times the distinct fills ramped from ``min_frame_fills`` to
    ``full_fills``, times that weight; concentration alone (``conc_low`` to ``conc_high``) adds at most
    ``conc_weight``.

    **Why it indicates extraction.** A harvest is programmatic: one or a few prompt templates swept over
    hundreds of topics or tasks ("Explain {X} step by step" for every X in a syllabus), often across
    many accounts. Human traffic is varied; an app's is one frame around long, varied user content.

    **Evidence.** ``cluster_ids``: the top near-duplicate clusters. ``examples``: the dominant template
    (skeleton or frame with ``{…}`` for the slot) with example fills, then example prompts; ``request_ids``
    from the dominant frame. The summary gives shares, frame count, distinct fills and the median fill.

    **Known false positives.** Batch jobs with short fills and explanatory asks: glossary or product-copy
    generation ("Describe {product}"), tutoring apps with an "explain step by step" system prompt,
    templated data-augmentation pipelines. Classifier pipelines and benchmark runners are discounted by
    the short-answer rule, support and summariser apps by the long-fill rule, but not to zero.
    """

    id: ClassVar[str] = "ES102"
    name: ClassVar[str] = "template_concentration"
    summary: ClassVar[str] = "Traffic in few templates; slot sweeps of short topics through one frame"
    requires: ClassVar[frozenset[str]] = frozenset()
    weight: ClassVar[float] = 1.25

    @dataclass(frozen=True)
    class Params:
        top_k: int = 3  # clusters / skeletons counted in the concentration share
        max_frames: int = 3  # template frames picked (greedily) for the slot sweep
        min_frame_share: float = 0.1  # a frame must carry at least this share of the entity's requests
        min_frame_fills: int = 5  # ... and this many distinct prompts (score 0 at this many)
        full_fills: int = 30  # distinct prompts through the frames for full score
        sweep_low: float = 0.3  # sweep share at which the score starts to rise
        sweep_high: float = 0.8  # sweep share with score 1
        short_fill_chars: int = 100  # median fill length (chars) up to which fills count as topic-like
        long_fill_chars: int = 400  # median fill length at which the long-fill discount is complete
        long_fill_penalty: float = 0.8  # discount of a frame with long fills (1 - this remains)
        intent_share: float = 0.8  # share of a frame's requests that must ask for X to call it the ask
        short_answer_tokens: int = 32  # median max_output_tokens at or below this: a short-answer frame
        short_answer_factor: float = 0.25  # weight of a frame that asks for labels / letters / short answers
        neutral_factor: float = 0.6  # weight of a word / skeleton frame with no clear ask
        system_neutral_factor: float = 0.1  # weight of a shared system prompt with no clear ask
        conc_low: float = 0.6  # top-k cluster / skeleton share at which concentration starts to count
        conc_high: float = 0.95  # top-k share with full concentration
        conc_weight: float = 0.35  # most that concentration alone contributes to the score
        conc_min_requests: int = 10  # requests at which concentration starts to count (full at 5x)
        full_confidence_at: float = 50.0  # requests for full confidence
        evidence_rows: int = 5  # request ids reported

    params: Any

    _FEATURES: ClassVar[dict[str, pl.DataType]] = {
        "entity_id": pl.String(),
        "n": pl.Int64(),
        "n_distinct": pl.Int64(),
        "top_cluster_share": pl.Float64(),
        "top_clusters": pl.List(pl.String()),
        "top_skeleton_share": pl.Float64(),
        "top_skeleton": pl.String(),
        "n_frames": pl.Int64(),
        "sweep_rows": pl.Int64(),
        "sweep_distinct": pl.Int64(),
        "sweep_weight": pl.Float64(),  # row-weighted mean of the frames' fill x ask weights
        "fill_median_chars": pl.Float64(),
        "frame": pl.String(),  # the dominant frame, slot shown as {…}
        "frame_ask": pl.String(),  # explain / short / neutral
        "frame_fills": pl.List(pl.String()),
        "request_ids": pl.List(pl.String()),
        "examples": pl.List(pl.String()),
    }

    # --------------------------------------------------------------------------------------------

    def features(self, frame: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if frame.height == 0:
            return pl.DataFrame(schema=self._FEATURES)
        chars = ctx.config.report.example_chars
        norm = pl.col("text_norm").cast(pl.String).fill_null("")
        system = column(frame, "system_text", pl.String()).fill_null("")
        base = frame.select(
            "entity_id",
            "record_id",
            "ts",
            pl.col("text").cast(pl.String).fill_null("").alias("text"),
            norm.alias("norm"),
            pl.col("skeleton").cast(pl.String).fill_null("").alias("skeleton"),
            pl.col("skeleton_id"),
            pl.col("cluster_id"),
            column(frame, "max_output_tokens", pl.Int64()).alias("mot"),
            system.alias("system"),
        ).with_row_index("_row")
        # The frame search below groups millions of (request, frame) rows by entity: it uses an integer code
        # of the entity (``_e``) and each request carries its entity's request count (``_n``).
        entities, entity_code = distinct_index(base["entity_id"])
        base = base.with_columns(
            pl.col("norm").hash(seed=11).alias("_th"),
            pl.Series("_e", entity_code, dtype=pl.Int64),
            pl.Series("_n", np.bincount(entity_code)[entity_code], dtype=pl.Int64),
        )

        per_entity = base.group_by("entity_id").agg(
            pl.len().cast(pl.Int64).alias("n"), pl.col("_th").n_unique().cast(pl.Int64).alias("n_distinct")
        )
        top_c = self._top(base, "cluster_id", p.top_k).select(
            pl.lit(entities).gather(pl.col("_e")).alias("entity_id"),
            pl.col("share").alias("top_cluster_share"),
            pl.col("keys").cast(pl.List(pl.String())).alias("top_clusters"),
        )
        top_s = (
            self._top(base, "skeleton_id", p.top_k)
            .join(
                base.select("_e", pl.col("skeleton_id").alias("_k1"), "skeleton").unique(
                    ["_e", "_k1"], keep="first", maintain_order=True
                ),
                on=["_e", "_k1"],
                how="left",
            )
            .select(
                pl.lit(entities).gather(pl.col("_e")).alias("entity_id"),
                pl.col("share").alias("top_skeleton_share"),
                pl.col("skeleton").alias("top_skeleton"),
            )
        )

        sweep = self._sweep(base, entities, chars)
        out = (
            per_entity.join(top_c, on="entity_id", how="left")
            .join(top_s, on="entity_id", how="left")
            .join(sweep, on="entity_id", how="left")
        )
        # Entities (or a whole partition) without any frame get the sweep columns as nulls first.
        out = out.with_columns([pl.lit(None, dtype=t).alias(c) for c, t in self._FEATURES.items() if c not in out.columns])
        empty = pl.lit([], dtype=pl.List(pl.String()))
        out = out.with_columns(
            pl.col("n_frames").fill_null(0),
            pl.col("sweep_rows").fill_null(0),
            pl.col("sweep_distinct").fill_null(0),
            pl.col("sweep_weight").fill_null(0.0),
            pl.col("frame_fills").fill_null(empty),
            pl.col("request_ids").fill_null(empty),
            pl.col("top_clusters").fill_null(empty),
            # Without a sweep frame the largest skeleton is the template evidence.
            pl.when(pl.col("examples").is_null() & pl.col("top_skeleton").is_not_null())
            .then(pl.concat_list(pl.lit("top skeleton: ") + pl.col("top_skeleton").str.slice(0, chars)))
            .otherwise(pl.col("examples").fill_null(empty))
            .alias("examples"),
        )
        return out.select([pl.col(k).cast(v) for k, v in self._FEATURES.items()]).sort("entity_id")

    @staticmethod
    def _top(base: pl.DataFrame, key: str, k: int) -> pl.DataFrame:
        """Per entity (``_e``): the share of requests in its ``k`` largest groups of ``key``, the keys
        (largest first; ties by key) and the largest key as ``_k1``."""
        counts = base.group_by("_e", key).agg(pl.len().alias("c"))
        if counts[key].null_count() == 0:
            # the same order as the sort below (groups are unique, so there are no ties), without polars'
            # multi-key sort (several times slower here)
            counts = counts[
                np.lexsort((counts[key].to_numpy(), -counts["c"].to_numpy().astype(np.int64), counts["_e"].to_numpy()))
            ]
        else:
            counts = counts.sort(["_e", "c", key], descending=[False, True, False], nulls_last=True)
        return counts.group_by("_e", maintain_order=True).agg(
            (pl.col("c").head(k).sum() / pl.col("c").sum()).alias("share"),
            pl.col(key).head(k).alias("keys"),
            pl.col(key).first().alias("_k1"),
        )

    def _candidates(self, base: pl.DataFrame) -> pl.DataFrame:
        """Every (row, frame) pair: one row per request and frame kind it fits, with the frame key, the
        fill length and whether the frame's constant text (the words kept, the skeleton without its slots,
        the system prompt) asks for an explanation / a short answer. The fill never decides the ask: a
        customer who writes "please explain" does not make a support app an explanation harvest.

        Everything but the row's own columns is a function of its prompt, skeleton or system prompt, so it
        is computed once per distinct value (:func:`distinct_index`) and gathered back: the word lists and
        the ask regexes over every row and frame were most of this detector's time."""
        rows = base.select("_e", "_row", "_th", "mot", pl.col("_n").alias("n"))
        # Per distinct prompt: word count (only needed up to the longest frame: a prompt longer than both
        # edges has enough), length, and each prefix / suffix string once (several frames share them).
        ks = sorted({k for k, _ in WORD_FRAMES} - {0})
        ms = sorted({m for _, m in WORD_FRAMES} - {0})
        norms, by_norm = distinct_index(base["norm"])
        words = _edge_words(norms, max(ks), max(ms), max(k + m for k, m in WORD_FRAMES)).select(
            "_nw",
            pl.col("_len").cast(pl.Int64),
            pl.lit("").alias("_p0"),
            pl.lit("").alias("_s0"),
            *[pl.col("_head").list.head(k).list.join(" ").alias(f"_p{k}") for k in ks],
            *[pl.col("_tail").list.tail(m).list.join(" ").alias(f"_s{m}") for m in ms],
        )
        n_words = words["_nw"].to_numpy()[by_norm]

        def part(mask: np.ndarray, kind: int, per_value: pl.DataFrame, value_of_row: np.ndarray) -> pl.DataFrame:
            # rows where mask holds, the kind, then the per-value columns (key, fill_chars, frame_words, asks)
            idx = np.flatnonzero(mask)
            return pl.concat(
                [rows[idx], pl.DataFrame({"kind": np.full(idx.size, kind, np.int16)}), per_value[value_of_row[idx]]],
                how="horizontal",
            )

        parts: list[pl.DataFrame] = []
        for i, (k, m) in enumerate(WORD_FRAMES):
            head, tail = pl.col(f"_p{k}"), pl.col(f"_s{m}")
            f = words.select(
                pl.concat_str([head, pl.lit("\x1f"), tail]).hash(seed=13).alias("key"),
                (pl.col("_len") - _chars(head) - _chars(tail)).clip(0).alias("fill_chars"),
                pl.lit(k + m, dtype=pl.Int32()).alias("frame_words"),
                pl.concat_str([head, tail], separator=" ").alias("_frame"),
            )
            # The asks once per distinct frame text (a template's frames repeat across its prompts).
            f = pl.concat([f.drop("_frame"), per_distinct(f["_frame"], _asks(pl.col("_frame")))], how="horizontal")
            parts.append(part(n_words > k + m, i, f, by_norm))
        lens = words["_len"][by_norm]
        skels, by_skel = distinct_index(base["skeleton"])
        stripped = pl.col("skeleton").str.replace_all(_MASK, "")
        sk = (
            skels.alias("skeleton")
            .to_frame()
            .select(
                pl.col("skeleton").str.contains(_MASK).alias("_has"),
                stripped.str.len_chars().alias("_slen"),
                stripped.str.count_matches(_WORD).cast(pl.Int32).alias("frame_words"),
                *_asks(stripped),
            )
        )
        has = sk["_has"].to_numpy()[by_skel]
        # The key is the row's skeleton_id and the fill its prompt's length less the skeleton's constant text.
        sk_rows = pl.DataFrame({"key": base["skeleton_id"].cast(pl.UInt64), "_len": lens, "_u": by_skel}).filter(pl.Series(has))
        sk_part = part(has, _SKELETON, sk.drop("_has", "_slen"), by_skel)
        fill = (sk_rows["_len"] - sk["_slen"][sk_rows["_u"].to_numpy()]).clip(0).alias("fill_chars")
        parts.append(sk_part.insert_column(rows.width + 1, sk_rows["key"]).insert_column(rows.width + 2, fill))
        systems, by_system = distinct_index(base["system"])
        sy = (
            systems.alias("system")
            .to_frame()
            .select(
                (pl.col("system").str.len_chars() > 0).alias("_has"),
                pl.col("system").hash(seed=17).alias("key"),
                pl.col("system").str.count_matches(_WORD).cast(pl.Int32).alias("frame_words"),
                *_asks(pl.col("system")),
            )
        )
        has = sy["_has"].to_numpy()[by_system]
        sy_part = part(has, _SYSTEM, sy.drop("_has"), by_system)
        parts.append(sy_part.insert_column(rows.width + 2, lens.filter(pl.Series(has)).alias("fill_chars")))
        return pl.concat(parts, how="vertical")

    def _sweep(self, base: pl.DataFrame, entities: pl.Series, chars: int) -> pl.DataFrame:
        p = self.params
        cand = self._candidates(base)
        # Frames too small on all the traffic stay too small on what later rounds leave: drop them once.
        viable = (
            cand.group_by("_e", "kind", "key")
            .agg(pl.len().alias("rows"), pl.col("n").first())
            .filter(pl.col("rows") >= pl.max_horizontal(p.min_frame_fills, p.min_frame_share * pl.col("n")))
        )
        cand = cand.join(viable.select("_e", "kind", "key"), on=["_e", "kind", "key"], how="semi")
        chosen: list[pl.DataFrame] = []
        covered = pl.DataFrame(schema={"_row": cand.schema["_row"], "round": pl.Int32()})
        for r in range(p.max_frames):  # greedy rounds over frames, not a loop over requests
            left = cand.join(covered, on="_row", how="anti")
            if left.height == 0:
                break
            best = (
                left.group_by("_e", "kind", "key")
                .agg(
                    pl.len().cast(pl.Int64).alias("rows"),
                    pl.col("_th").n_unique().cast(pl.Int64).alias("distinct"),
                    pl.col("n").first(),
                    pl.col("frame_words").max(),
                )
                .filter((pl.col("distinct") >= p.min_frame_fills) & (pl.col("rows") >= p.min_frame_share * pl.col("n")))
                # A shared system prompt frames every request of an app; prefer a word / skeleton frame
                # that covers at least half as much (it names the template better).
                .with_columns((pl.col("distinct") * pl.when(pl.col("kind") == _SYSTEM).then(0.5).otherwise(1.0)).alias("rank"))
                .sort(
                    ["_e", "rank", "rows", "frame_words", "kind", "key"],
                    descending=[False, True, True, True, False, False],
                )
                .unique("_e", keep="first", maintain_order=True)
                .select("_e", "kind", "key", pl.lit(r, dtype=pl.Int32()).alias("round"))
            )
            if best.height == 0:
                break
            rows = left.join(best, on=["_e", "kind", "key"], how="inner")
            chosen.append(rows)
            covered = pl.concat([covered, rows.select("_row", "round")], how="vertical")
        if not chosen:
            return pl.DataFrame(schema={"entity_id": pl.String()})
        rows = pl.concat(chosen, how="vertical")

        # Per frame: its fill and ask weight.
        f = (
            rows.group_by("_e", "round", "kind")
            .agg(
                pl.len().cast(pl.Int64).alias("rows"),
                pl.col("_th").n_unique().cast(pl.Int64).alias("distinct"),
                pl.col("fill_chars").median().alias("fill_med"),
                pl.col("ask_explain").mean().alias("explain"),
                pl.col("ask_short").mean().alias("short"),
                pl.col("mot").median().alias("mot_med"),
            )
            .with_columns(
                pl.when((pl.col("short") >= p.intent_share) | (pl.col("mot_med") <= p.short_answer_tokens))
                .then(pl.lit("short"))
                .when(pl.col("explain") >= p.intent_share)
                .then(pl.lit("explain"))
                .otherwise(pl.lit("neutral"))
                .alias("ask"),
            )
            .with_columns(
                (1.0 - p.long_fill_penalty * ramp(pl.col("fill_med"), p.short_fill_chars, p.long_fill_chars)).alias("fill_w"),
                pl.when(pl.col("ask") == "explain")
                .then(1.0)
                .when(pl.col("ask") == "short")
                .then(p.short_answer_factor)
                .when(pl.col("kind") == _SYSTEM)
                .then(p.system_neutral_factor)
                .otherwise(p.neutral_factor)
                .alias("ask_w"),
            )
        )
        agg = (
            f.sort(["_e", "round"])
            .group_by("_e", maintain_order=True)
            .agg(
                pl.len().cast(pl.Int64).alias("n_frames"),
                pl.col("rows").sum().cast(pl.Int64).alias("sweep_rows"),
                pl.col("distinct").sum().cast(pl.Int64).alias("sweep_distinct"),
                _weighted(pl.col("fill_w") * pl.col("ask_w")).alias("sweep_weight"),
                _weighted("fill_med").alias("fill_median_chars"),
                pl.col("ask").first().alias("frame_ask"),
            )
        )
        agg = agg.insert_column(0, entities.gather(agg["_e"]).alias("entity_id")).drop("_e")

        # Evidence from the dominant frame (round 0): template, fills, request ids, example prompts.
        ev = (
            rows.filter(pl.col("round") == 0)
            .select("_row", "kind")
            .join(
                base.select("entity_id", "_row", "ts", "record_id", "text", "norm", "skeleton", "system"),
                on="_row",
                how="inner",
            )
            .sort(["entity_id", "ts", "record_id"], nulls_last=True)
            .group_by("entity_id", maintain_order=True)
            .head(50)  # the earliest prompts of the frame are enough for its evidence
        )
        kind = pl.col("kind").cast(pl.Int32)
        idx = list(range(len(WORD_FRAMES)))
        k = kind.replace_strict(idx, [a for a, _ in WORD_FRAMES], default=0, return_dtype=pl.Int64)
        m = kind.replace_strict(idx, [b for _, b in WORD_FRAMES], default=0, return_dtype=pl.Int64)
        words = pl.col("norm").str.extract_all(_WORD)
        ev = ev.with_columns(k.alias("_k"), m.alias("_m"), words.alias("_w")).with_columns(
            pl.when(kind >= 0)
            .then(
                pl.concat_str(
                    [
                        pl.col("_w").list.head(pl.col("_k")).list.join(" "),
                        pl.lit("{…}"),
                        pl.col("_w").list.tail(pl.col("_m")).list.join(" "),
                    ],
                    separator=" ",
                ).str.strip_chars()
            )
            .when(kind == _SKELETON)
            .then(pl.col("skeleton"))
            .otherwise(pl.lit("[system] ") + pl.col("system").str.slice(0, 120) + pl.lit(" + {…}"))
            .alias("_frame"),
            pl.when(kind >= 0)
            .then(pl.col("_w").list.slice(pl.col("_k"), pl.col("_w").list.len() - pl.col("_k") - pl.col("_m")).list.join(" "))
            .otherwise(pl.col("norm"))
            .str.slice(0, 60)
            .alias("_fill"),
        )
        ev = ev.group_by("entity_id", maintain_order=True).agg(
            pl.col("_frame").first().alias("frame"),
            pl.col("_fill").unique(maintain_order=True).head(5).alias("frame_fills"),
            pl.col("record_id").head(p.evidence_rows).alias("request_ids"),
            pl.col("text").head(2).str.slice(0, chars).alias("_prompts"),
        )
        ev = ev.with_columns(
            pl.concat_list(
                [
                    pl.concat_str(
                        [
                            pl.lit("template: "),
                            pl.col("frame"),
                            pl.lit(" | fills: "),
                            pl.col("frame_fills")
                            .list.head(3)
                            .list.eval(pl.lit("'") + pl.element() + pl.lit("'"))
                            .list.join(", "),
                        ]
                    ).str.slice(0, chars),
                    pl.col("_prompts"),
                ]
            ).alias("examples")
        ).drop("_prompts")
        return agg.join(ev, on="entity_id", how="left")

    # --------------------------------------------------------------------------------------------

    def score(self, features: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if features.height == 0:
            return result_frame(pl.DataFrame(schema={"entity_id": pl.String()}))
        n = pl.col("n").cast(pl.Float64)
        conc = pl.max_horizontal(pl.col("top_cluster_share").fill_null(0.0), pl.col("top_skeleton_share").fill_null(0.0))
        df = features.with_columns(
            (pl.col("sweep_rows") / n).alias("value"),
            conc.alias("conc"),
        ).with_columns(
            (
                ramp(pl.col("value"), p.sweep_low, p.sweep_high)
                * ramp(pl.col("sweep_distinct").cast(pl.Float64), p.min_frame_fills, p.full_fills)
                * pl.col("sweep_weight")
            ).alias("sweep_score"),
            (ramp(pl.col("conc"), p.conc_low, p.conc_high) * ramp(n, p.conc_min_requests, 5.0 * p.conc_min_requests)).alias(
                "conc_score"
            ),
        )
        sweep_txt = (
            pl.when(pl.col("n_frames") > 0)
            .then(
                pl.format(
                    "{} of {} requests run through {} template frame(s) with {} distinct fills "
                    '(median fill {} chars, ask: {}; dominant: "{}")',
                    pct(pl.col("value")),
                    pl.col("n"),
                    pl.col("n_frames"),
                    pl.col("sweep_distinct"),
                    pl.col("fill_median_chars").round(0).cast(pl.Int64),
                    pl.col("frame_ask"),
                    pl.col("frame").str.slice(0, 80),
                )
            )
            .otherwise(pl.format("no template sweep in {} requests", pl.col("n")))
        )
        df = df.with_columns(
            pl.max_horizontal(pl.col("sweep_score"), p.conc_weight * pl.col("conc_score")).alias("score"),
            volume_confidence(pl.col("n"), p.full_confidence_at).alias("confidence"),
            pl.format(
                "{}; top-{} clusters hold {}, top-{} skeletons {}; {} distinct prompts",
                sweep_txt,
                pl.lit(p.top_k),
                pct(pl.col("top_cluster_share")),
                pl.lit(p.top_k),
                pct(pl.col("top_skeleton_share")),
                pl.col("n_distinct"),
            ).alias("summary"),
            pl.col("top_clusters").alias("cluster_ids"),
        )
        return result_frame(df)

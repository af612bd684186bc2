"""ES108 capability_targeting: traffic narrowly focused on the valuable capabilities (code, agents, maths,
reasoning)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any, ClassVar

import polars as pl

from extractscan.detectors.base import Detector, ScanContext, per_distinct, ramp, result_frame, volume_confidence
from extractscan.detectors.reasoning_elicitation import alternation, column, pct, population_baseline

# Lexicons: Rust regex syntax, case-insensitive. Word lexicons run on text_norm; syntax markers (code
# fences, operators) on the raw text, whose punctuation normalisation may have changed.
CODING_WORDS: tuple[str, ...] = (
    r"\b(?:python|javascript|typescript|kotlin|golang|rustlang|php|perl|scala|haskell|clojure|elixir|"
    r"fortran|cobol|matlab|verilog|vhdl|solidity|sql|mysql|postgres(?:ql)?|sqlite|mongodb|"
    r"bash|powershell|zsh|html|css|jsx|react(?:js)?|vue(?:js)?|angular|node\.?js|express\.?js|django|"
    r"flask|fastapi|spring boot|pandas|numpy|pytorch|tensorflow|keras|docker(?:file)?|kubernetes|"
    r"terraform|git|github|regex|regular expression|json|yaml|graphql|rest api|api endpoints?|jquery|"
    r"webpack|npm|pip)\b",
    r"\bc(?:\+\+|#)|\.net\b",  # no trailing \b: "+" and "#" are not word characters
    r"\b(?:java|ruby|rust|swift|go|c) (?:code|program|function|class|script|snippet|method|library|app)",
    r"\b(?:source code|code snippet|codebase|code review|pull request|coding|programming|programmer|"
    r"algorithm\w*|data structures?|linked list|binary (?:search )?tree|hash ?(?:map|table)|recursion|"
    r"recursive function|big[- ]o|time complexity|compil(?:e|er|ation) error|debug\w*|bugs?|stack ?trace|"
    r"exception|syntax error|runtime error|segfault|unit tests?|test cases?|refactor\w*|boilerplate|"
    r"sql query|shell script|command line|cli tool|web server|backend|frontend|microservices?)\b",
    r"\b(?:write|implement|create|build|code|design|develop|fix|optimi[sz]e|complete) "
    r"(?:a |an |the |this |my |some )?(?:simple |basic |small |short |recursive |efficient )?(?:\w+ )?"
    r"(?:function|method|class|program|script|module|api|endpoint|component|query|snippet|app|application|"
    r"website|web app|parser|cli)\b",
)
CODING_SYNTAX: tuple[str, ...] = (
    r"```",
    r"\bdef \w+\s*\(",
    r"\bfunction\s*\w*\s*\([^)]*\)\s*\{",
    r"#include\s*<",
    r"^\s*(?:import|from) [\w.]+",
    r"\b(?:console\.log|System\.out|printf|println|std::)",
    r"\b(?:public|private|protected) (?:static )?(?:void|int|class|string|bool)",
    r"\bSELECT [\w*, ]+ FROM\b",
    r"\w+\.\w+\([^)]*\)\s*;",
    r"\bclass \w+\s*(?:\(|:|\{|extends|implements)",
)
MATHS_WORDS: tuple[str, ...] = (
    r"\b(?:solve for|equations?|integral|integrate|derivative|differentiate|calculus|algebra\w*|geometry|"
    r"geometric|trigonometr\w*|probability|probabilities|theorem|lemma|corollary|prove that|proof|"
    r"polynomials?|matri(?:x|ces)|eigen\w+|vector spaces?|logarithms?|exponents?|factorials?|prime numbers?|"
    r"fractions?|percentages?|ratios?|arithmetic|quadratic|inequalit(?:y|ies)|mathemati\w+|math|maths|"
    r"combinatorics|permutations?|modular arithmetic|divisible|remainder|hypotenuse|circumference|"
    r"perimeter|area of|volume of|expected value|variance|standard deviation|mean of|median of|"
    r"greatest common|least common|gcd|lcm|sum of (?:the |all )?\w+|square root|cube root)\b",
    # word problems: a "how many / how much" question with numbers in it
    r"\b(?:how (?:many|much|long|far|old)|what (?:is|was) the (?:total|sum|difference|product|average|"
    r"probability)|what percent(?:age)?)\b.*\d",
    r"\d.*\b(?:how (?:many|much|long|far|old)|what percent(?:age)?|what (?:is|was|were|will be) the "
    r"(?:total|final|new|combined|average|remaining|original)|altogether|in total|"
    r"(?:twice|half|three times) as (?:many|much))\b",
)
MATHS_SYNTAX: tuple[str, ...] = (
    r"\d\s*[+*×÷^=]\s*\d",
    r"\b[a-z]\s*\^\s*\d",
    r"\\(?:frac|int|sum|sqrt|cdot|times|lim|infty)\b",
    r"\b(?:f|g|h)\s*\(\s*[a-z]\s*\)\s*=",
)
REASONING_WORDS: tuple[str, ...] = (
    r"\b(?:logic(?:al)? (?:puzzle|problem|question|reasoning|deduction)|puzzles?|riddles?|brain ?teasers?|"
    r"deduc(?:e|tion|tive)|syllogisms?|premises?|infer(?:ence|red)?|paradox\w*|lateral thinking|"
    r"knights? and knaves|truth[- ]tellers?|liars?|game theory|counterfactual|valid argument|"
    r"fallac(?:y|ies)|contradiction|necessarily true|must be true|cannot be true|which of the following|"
    r"true or false|analogy|analogies|sequence (?:comes|is) next|what comes next|spatial reasoning|"
    r"critical thinking|reasoning (?:question|problem|task|test))\b",
)
AGENTIC_WORDS: tuple[str, ...] = (
    r"\b(?:call|use|invoke|run|execute) (?:the |a |an |this |these |available |appropriate |your )?"
    r"(?:\w+ )?(?:tools?|function calls?|plugins?)\b",
    r"\bcall the (?:\w+ )?(?:function|api)\b",
    r"\b(?:tool[- ]?(?:use|call|calls|calling)|function[- ]calling|agentic|ai agents?|autonomous agents?|"
    r"llm agents?|multi[- ]step (?:task|plan|workflow)|browse the web|search the web|web search|"
    r"execute (?:the |this |a )?(?:command|code|shell)|shell commands?|terminal commands?|computer use|"
    r"react agent|mcp server|tool schema|available tools|available functions)\b",
    r"\b(?:access to|you can use|you may use) (?:the following |these |several )?(?:tools|functions|apis)\b",
    r"\b(?:thought|action|action input|observation):",
)
CATEGORIES: tuple[str, ...] = ("coding", "agentic", "maths", "reasoning")
_TOOL_PARTS = r"(?i)tool|function|computer"


def category_masks(frame: pl.DataFrame) -> pl.DataFrame:
    """Per request (one row per row of ``frame``), one boolean column per capability category (see
    :data:`CATEGORIES`). The lexicons run once per distinct prompt / system prompt (they repeat)."""
    norm = (
        pl.col("text_norm").cast(pl.String).fill_null("")
        if "text_norm" in frame.columns
        else (pl.col("text").cast(pl.String).fill_null("").str.to_lowercase())
    )
    raw = pl.col("text").cast(pl.String).fill_null("")
    system = column(frame, "system_text", pl.String()).fill_null("")
    tools = column(frame, "tools_count", pl.Int64()).fill_null(0) > 0
    parts = (
        column(frame, "part_types", pl.List(pl.String()))
        .list.eval(pl.element().str.contains(_TOOL_PARTS))
        .list.any()
        .fill_null(False)
    )
    agent_rx = alternation(AGENTIC_WORDS)
    cols = frame.select(norm.alias("norm"), raw.alias("raw"), system.alias("system"), tools.alias("tools"), parts.alias("parts"))
    by_norm = per_distinct(
        cols["norm"],
        [
            pl.col("norm").str.contains(alternation(CODING_WORDS)).alias("coding"),
            pl.col("norm").str.contains(agent_rx).alias("agentic"),
            pl.col("norm").str.contains(alternation(MATHS_WORDS)).alias("maths"),
            pl.col("norm").str.contains(alternation(REASONING_WORDS)).alias("reasoning"),
        ],
    )
    by_raw = per_distinct(
        cols["raw"],
        [
            pl.col("raw").str.contains("(?m)" + alternation(CODING_SYNTAX)).alias("coding"),
            pl.col("raw").str.contains(alternation(MATHS_SYNTAX)).alias("maths"),
        ],
    )
    by_system = per_distinct(cols["system"], [pl.col("system").str.contains(agent_rx).alias("agentic")])
    return pl.DataFrame(
        [
            (by_norm["coding"] | by_raw["coding"]).alias("coding"),
            (cols["tools"] | cols["parts"] | by_norm["agentic"] | by_system["agentic"]).alias("agentic"),
            (by_norm["maths"] | by_raw["maths"]).alias("maths"),
            by_norm["reasoning"].alias("reasoning"),
        ]
    )


_PAIRS: tuple[tuple[str, str], ...] = tuple(combinations(CATEGORIES, 2))


class CapabilityTargeting(Detector):
    """Narrow focus of an entity's traffic on the capabilities worth distilling.

    **What it measures.** Each request is put in zero or more capability categories by regex lexicons:
    *coding* (languages, frameworks, programming vocabulary on ``text_norm``; code fences and syntax on
    the raw text), *agentic* (tools offered, ``tool_use`` / ``tool_result`` parts, "call the function",
    "use the tool", ReAct traces, in the user or system text), *maths* (maths vocabulary, numeric word
    problems, formulas) and *reasoning* (logic puzzles, riddles, deduction, multiple choice). ``value`` is
    the entity's *focus*: the share of its requests covered by its best one or two categories. The score
    ramps the excess of the focus over the population (the median entity, at most ``max_baseline``;
    ``prior_focus`` for a small population) from ``excess_low`` to ``excess_high``; the summary gives the
    per-category shares next to the population medians and the topic diversity (normalised entropy over
    the four categories and "other").

    **Why it indicates extraction.** Distillation campaigns buy the frontier model's most valuable skills:
    the 2026 reports describe traffic concentrated on agentic coding, tool use, reasoning and maths, with
    almost nothing else, whereas human users spread over writing, advice, trivia and chat.

    **Evidence.** Up to five request ids and three example prompts from the focus categories; the
    per-category shares.

    **Known false positives.** Coding assistants and IDE integrations (nearly all coding), agent
    frameworks (nearly all tool use), maths tutoring apps. Alone this is weak evidence (hence the modest
    weight); it matters together with template, volume and elicitation signals.
    """

    id: ClassVar[str] = "ES108"
    name: ClassVar[str] = "capability_targeting"
    summary: ClassVar[str] = "Traffic concentrated on coding, agentic tool use, maths or reasoning"
    requires: ClassVar[frozenset[str]] = frozenset()
    weight: ClassVar[float] = 0.75

    @dataclass(frozen=True)
    class Params:
        excess_low: float = 0.25  # focus above the population baseline at which the score starts to rise
        excess_high: float = 0.6  # focus above the baseline with score 1
        prior_focus: float = 0.3  # baseline when fewer than min_population entities are comparable
        max_baseline: float = 0.7  # the baseline never exceeds this (a campaign-heavy population)
        min_population: int = 5  # comparable entities needed to use the population median
        min_requests: int = 5  # entities with fewer requests do not enter the baseline
        full_confidence_at: float = 50.0  # requests for full confidence
        evidence_rows: int = 5  # request ids reported

    params: Any

    _FEATURES: ClassVar[dict[str, pl.DataType]] = {
        "entity_id": pl.String(),
        "n": pl.Int64(),
        **{f"s_{c}": pl.Float64() for c in CATEGORIES},
        **{f"s_{a}_{b}": pl.Float64() for a, b in _PAIRS},
        "s_any": pl.Float64(),
        "request_ids": pl.List(pl.String()),
        "examples": pl.List(pl.String()),
        "ex_categories": pl.List(pl.String()),
    }

    def features(self, frame: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if frame.height == 0:
            return pl.DataFrame(schema=self._FEATURES)
        chars = ctx.config.report.example_chars
        masks = category_masks(frame)
        df = frame.select("entity_id", "ts", "record_id", "text", *[masks[c].alias(f"_{c}") for c in CATEGORIES])
        df = df.with_columns(pl.any_horizontal([pl.col(f"_{c}") for c in CATEGORIES]).alias("_any"))
        feats = df.group_by("entity_id").agg(
            pl.len().cast(pl.Int64).alias("n"),
            *[pl.col(f"_{c}").mean().alias(f"s_{c}") for c in CATEGORIES],
            *[(pl.col(f"_{a}") | pl.col(f"_{b}")).mean().alias(f"s_{a}_{b}") for a, b in _PAIRS],
            pl.col("_any").mean().alias("s_any"),
        )
        # Evidence: the entity's in-category requests, earliest first. (Which categories are its focus is
        # only known per entity; any category is a fair sample when the focus is high.)
        ev = (
            df.filter(pl.col("_any"))
            .sort(["entity_id", "ts", "record_id"], nulls_last=True)
            .group_by("entity_id", maintain_order=True)
            .head(max(p.evidence_rows, 3))  # the rows reported: only theirs need the category names
            .with_columns(
                pl.concat_list([pl.when(pl.col(f"_{c}")).then(pl.lit(c)).otherwise(pl.lit(None)) for c in CATEGORIES])
                .list.drop_nulls()
                .list.join("+")
                .alias("_cats"),
            )
            .group_by("entity_id", maintain_order=True)
            .agg(
                pl.col("record_id").head(p.evidence_rows).alias("request_ids"),
                pl.col("text").fill_null("").head(3).str.slice(0, chars).alias("examples"),
                pl.col("_cats").head(3).alias("ex_categories"),
            )
        )
        empty = pl.lit([], dtype=pl.List(pl.String()))
        out = feats.join(ev, on="entity_id", how="left").with_columns(
            pl.col("request_ids").fill_null(empty),
            pl.col("examples").fill_null(empty),
            pl.col("ex_categories").fill_null(empty),
        )
        return out.select([pl.col(k).cast(v) for k, v in self._FEATURES.items()]).sort("entity_id")

    def score(self, features: pl.DataFrame, ctx: ScanContext) -> pl.DataFrame:
        p = self.params
        if features.height == 0:
            return result_frame(pl.DataFrame(schema={"entity_id": pl.String()}))
        pair_cols = [pl.col(f"s_{a}_{b}") for a, b in _PAIRS]
        # The best one or two categories: the largest union of a pair (a single category is in some pair).
        best_pair = pl.concat_list([pl.struct(pl.col(f"s_{a}_{b}").alias("s"), pl.lit(f"{a}+{b}").alias("k")) for a, b in _PAIRS])
        df = features.with_columns(
            pl.max_horizontal(pair_cols).alias("value"),
            (1.0 - pl.col("s_any")).clip(0.0, 1.0).alias("s_other"),
        )
        # Topic diversity: normalised entropy of the category shares (multi-category requests split evenly
        # is not needed for a spread measure; shares are renormalised to sum 1).
        mass = [pl.col(f"s_{c}") for c in (*CATEGORIES, "other")]
        total = pl.sum_horizontal(mass)
        ent = pl.sum_horizontal([pl.when(m > 0).then(-(m / total) * (m / total).log()).otherwise(0.0) for m in mass]) / float(
            pl.Series([5.0]).log()[0]
        )
        base = population_baseline(
            df,
            "value",
            min_requests=p.min_requests,
            min_population=p.min_population,
            prior=p.prior_focus,
            cap=p.max_baseline,
        )
        pop = {
            c: population_baseline(df, f"s_{c}", min_requests=p.min_requests, min_population=p.min_population, prior=0.0, cap=1.0)
            for c in CATEGORIES
        }
        # Name of the focus: the members of the best pair that matter, i.e. that add coverage beyond the
        # other member or cover the whole focus alone (coding 99% + maths 20% -> "coding").
        pair_name = (
            best_pair.list.eval(pl.element().sort_by(pl.element().struct.field("s"), descending=True).first())
            .list.first()
            .struct.field("k")
        )

        def member(c: str, other: str) -> pl.Expr:
            v = pl.col("value")
            keep = (v - pl.col(f"s_{other}") >= 0.02) | (pl.col(f"s_{c}") >= v - 0.02)
            return pl.when(keep).then(pl.lit(c))

        names = pl.coalesce(
            [
                pl.when(pair_name == f"{a}+{b}").then(
                    pl.concat_list([member(a, b), member(b, a)]).list.drop_nulls().list.join("+")
                )
                for a, b in _PAIRS
            ]
        )
        focus_name = pl.when(pl.col("value") <= 0.0).then(pl.lit("none of the tracked capabilities")).otherwise(names)
        cats = pl.concat_str(
            [pl.format("{} {} (pop {})", pl.lit(c), pct(pl.col(f"s_{c}")), pct(pl.lit(pop[c]))) for c in CATEGORIES],
            separator=", ",
        )
        df = df.with_columns(
            ent.fill_nan(0.0).alias("diversity"),
            ramp(pl.col("value") - base, p.excess_low, p.excess_high).alias("score"),
            volume_confidence(pl.col("n"), p.full_confidence_at).alias("confidence"),
        ).with_columns(
            pl.format(
                "{} of {} requests target {} (population focus {}; {}; other {}; topic diversity {})",
                pct(pl.col("value")),
                pl.col("n"),
                focus_name,
                pct(pl.lit(base)),
                cats,
                pct(pl.col("s_other")),
                pl.col("diversity").round(2),
            ).alias("summary"),
        )
        return result_frame(df)

"""ES102 template_concentration: slot sweeps fire; support apps, benchmark runners and humans do not."""

from __future__ import annotations

import dataclasses
import inspect
import re
from typing import Any

import polars as pl
import pytest
from conftest import make_frame, run_detector

from extractscan.config import Config
from extractscan.detectors.base import RESULT_SCHEMA, Detector, ScanContext
from extractscan.detectors.capability_targeting import CapabilityTargeting
from extractscan.detectors.reasoning_elicitation import ReasoningElicitation
from extractscan.detectors.registry import detector_classes
from extractscan.detectors.rubric_grading import RubricGrading
from extractscan.detectors.template_concentration import TemplateConcentration

SUBJECTS = [
    "photosynthesis", "the krebs cycle", "plate tectonics", "bayes theorem", "gradient descent",
    "public key cryptography", "the tcp handshake", "quantum entanglement", "supply and demand",
    "the french revolution", "recursion", "entropy", "natural selection", "the doppler effect",
    "compound interest",
]  # fmt: skip
ASPECTS = ["", " for beginners", " in practice", " and its limits"]
TOPICS = [s + a for a in ASPECTS for s in SUBJECTS]  # 60 short, distinct fills

HUMAN = [
    "what's a good recipe for banana bread?",
    "help me write an email to my landlord about the broken heater",
    "who won the world cup in 2018",
    "translate 'good morning, how are you' to spanish",
    "give me ideas for a 5 year old's birthday party",
    "summarize the plot of hamlet in a paragraph",
    "is it safe to eat raw cookie dough",
    "what does a 401k do and should I have one",
    "write a haiku about autumn leaves",
    "how do I fix a leaky kitchen faucet",
    "best stretches for lower back pain after running",
    "can you explain how vaccines work, step by step?",
    "my cat keeps scratching the sofa, any tips",
    "draft a short toast for my sister's wedding",
    "what are the pros and cons of electric cars",
    "recommend three sci-fi novels like dune",
    "why is the sky blue",
    "plan a 3 day trip to lisbon on a budget",
    "rewrite this sentence to sound more formal: we gotta ship it tomorrow",
    "what should I ask in a job interview as the candidate",
    "is it better to rent or buy a house in 2026",
    "tell me a fun fact about octopuses",
    "how many calories are in an avocado",
    "what's the difference between baking soda and baking powder",
]


def _rows(entity: str, texts: list[str], **extra: Any) -> list[dict[str, Any]]:
    return [{"account_id": entity, "text": t, **extra} for t in texts]


def _run(rows: list[dict[str, Any]], det: TemplateConcentration | None = None) -> pl.DataFrame:
    out = run_detector(det or TemplateConcentration(), make_frame(rows))
    assert out.schema == pl.Schema(RESULT_SCHEMA)
    assert out["score"].is_between(0.0, 1.0).all()
    assert out["confidence"].is_between(0.0, 1.0).all()
    return out


def _by(out: pl.DataFrame, entity: str) -> dict[str, Any]:
    return out.filter(pl.col("entity_id") == entity).row(0, named=True)


def test_slot_sweep_fires_with_template_evidence() -> None:
    rows = _rows("harvest", [f"Explain {t} step by step." for t in TOPICS]) + _rows("human", HUMAN)
    out = _run(rows)
    h = _by(out, "harvest")
    assert h["value"] == 1.0
    assert h["score"] >= 0.9
    assert h["confidence"] > 0.9
    assert "60 distinct fills" in h["summary"] and "explain {…} step by step" in h["summary"]
    assert h["examples"][0].startswith("template: explain {…} step by step | fills: 'photosynthesis'")
    assert 1 <= len(h["request_ids"]) <= 5 and len(h["examples"]) <= 3
    assert 1 <= len(h["cluster_ids"]) <= 3
    assert _by(out, "human")["score"] == 0.0


def test_several_templates_are_summed() -> None:
    texts = (
        [f"Explain {t} step by step." for t in TOPICS[:20]]
        + [f"Write a detailed tutorial about {t} with examples." for t in TOPICS[20:40]]
        + [f"Describe {t} in depth, then solve a worked problem on it." for t in TOPICS[40:]]
    )
    h = _by(_run(_rows("harvest", texts)), "harvest")
    assert "3 template frame(s)" in h["summary"]
    assert h["value"] == 1.0 and h["score"] >= 0.9


def test_support_app_with_long_customer_text_is_not_a_sweep() -> None:
    complaint = (
        "Hello, my order {i} arrived two weeks late and the box was crushed. I have been a loyal customer "
        "for {y} years and this is the third time something like this happened. The tracking page said it "
        "was delivered on {d} but nobody was home. I would like a refund or a replacement and an "
        "explanation of why your courier keeps leaving parcels outside in the rain. Order item: {t}."
    )
    texts = [
        "Summarize the following customer message and draft a polite reply:\n\n"
        + complaint.format(i=1000 + i, y=i % 9 + 1, d=f"march {i % 28 + 1}", t=TOPICS[i])
        for i in range(60)
    ]
    s = _by(_run(_rows("support", texts)), "support")
    assert s["value"] == 1.0  # one frame carries all the traffic...
    assert s["score"] < 0.2  # ...but the fills are long customer text, not topics


def test_benchmark_runner_with_short_answers_is_discounted() -> None:
    texts = [
        f"Answer the following multiple choice question with only the letter.\nQuestion: which term best "
        f"describes {t}?\nA) a process B) a theorem C) an event D) a protocol"
        for t in TOPICS
    ]
    b = _by(_run(_rows("bench", texts, max_output_tokens=4)), "bench")
    assert "ask: short" in b["summary"]
    assert b["score"] <= 0.25
    # Same frame without the short-answer ask and with room to answer: a neutral frame scores higher.
    neutral = [f"Question: which term best describes {t}? Options: a process, a theorem, an event" for t in TOPICS]
    assert _by(_run(_rows("n", neutral)), "n")["score"] > b["score"]


def test_system_prompt_sweep_and_generic_chat_app() -> None:
    sweep = _rows("sys", TOPICS, system_text="Explain the topic the user names step by step, in depth.")
    chat = _rows("chat", HUMAN * 3, system_text="You are a helpful assistant.")
    out = _run(sweep + chat)
    assert _by(out, "sys")["score"] >= 0.9
    assert "[system]" in _by(out, "sys")["examples"][0]
    assert _by(out, "chat")["score"] <= 0.15


def test_skeleton_frame() -> None:
    # The skeleton masks the numbers: one skeleton, many distinct prompts.
    rows = [
        {
            "account_id": "math",
            "text": f"Prove that {a} * {b} = {a * b} and show your work.",
            "skeleton": "prove that <num> * <num> = <num> and show your work.",
        }
        for a in range(3, 9)
        for b in range(11, 19)
    ]
    m = _by(_run(rows), "math")
    assert m["score"] >= 0.9
    assert "48 distinct fills" in m["summary"]


def test_few_requests_and_repeats() -> None:
    out = _run(_rows("tiny", ["Explain recursion step by step."] * 3) + _rows("human", HUMAN[:6]))
    assert out["score"].max() < 0.1
    # The same few prompts over and over: concentrated, not a sweep; counts at most conc_weight.
    loop = _by(_run(_rows("loop", ["ping", "health check", "status?"] * 30)), "loop")
    assert loop["value"] == 0.0 and 0.0 < loop["score"] <= TemplateConcentration.Params().conc_weight
    assert "top-3 clusters hold 100%" in loop["summary"] and loop["examples"][0].startswith("top skeleton: ")


def test_params_change_thresholds() -> None:
    rows = _rows("harvest", [f"Explain {t} step by step." for t in TOPICS[:12]])
    strict = TemplateConcentration(TemplateConcentration.Params(min_frame_fills=20))
    assert _by(_run(rows, strict), "harvest")["score"] == 0.0
    assert _by(_run(rows), "harvest")["score"] > 0.0


def test_deterministic_and_order_independent() -> None:
    rows = _rows("harvest", [f"Explain {t} step by step." for t in TOPICS]) + _rows("human", HUMAN)
    frame = make_frame(rows)
    det = TemplateConcentration()
    a = run_detector(det, frame)
    b = run_detector(det, frame.sample(fraction=1.0, shuffle=True, seed=7))
    assert a.equals(b)


def test_empty_frame() -> None:
    frame = make_frame(_rows("x", ["hello"])).clear()
    ctx = ScanContext(config=Config())
    det = TemplateConcentration()
    assert det.score(det.features(frame, ctx), ctx).height == 0


# ------------------------------------------------------------------------------------------------
# Documentation and configuration of the intent detectors ES102, ES106, ES107, ES108 (one place).

_HEADINGS = (
    "**What it measures.**",
    "**Why it indicates extraction.**",
    "**Evidence.**",
    "**Known false positives.**",
)


@pytest.mark.parametrize(
    "cls",
    [TemplateConcentration, ReasoningElicitation, RubricGrading, CapabilityTargeting],
    ids=["ES102", "ES106", "ES107", "ES108"],
)
def test_documented_configurable_and_bare_features(cls: type[Detector]) -> None:
    assert cls in detector_classes()
    assert cls.name and cls.summary and "\n" not in cls.summary and 0.5 <= cls.weight <= 1.5
    doc = inspect.getdoc(cls) or ""
    positions = [doc.find(h) for h in _HEADINGS]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    source = inspect.getsource(cls.Params)
    assert cls.Params.__dataclass_params__.frozen  # type: ignore[attr-defined]
    for f in dataclasses.fields(cls.Params):
        line = next((ln for ln in source.splitlines() if re.match(rf"\s+{f.name}\s*:", ln)), "")
        assert re.search(r"#\s*\S", line), f"{cls.id}: Params.{f.name} default has no comment"
    first = dataclasses.fields(cls.Params)[0]
    cfg = Config(detectors={cls.id: {first.name: getattr(cls.Params(), first.name)}})
    assert cls.from_config(cfg).params == cls.Params()
    ctx = ScanContext(config=Config())
    assert cls().score(pl.DataFrame(schema={"entity_id": pl.String()}), ctx).is_empty()
    assert cls.requires == frozenset()  # all four work without embeddings


def test_edge_words_equal_the_full_edge_windows() -> None:
    # _edge_words reads short windows first and the full edges only where those hold too few words; the
    # words it keeps must be those of the full windows, on texts around every window size and with word
    # characters that glue words together (apostrophes, hyphens, underscores) or split them (punctuation).
    import random

    from extractscan.detectors.template_concentration import _EDGE_CHARS, _WORD, _edge_words

    rng = random.Random(5)
    pieces = ["a", "word", "x1", "it's", "co-op", "snake_case", "--", "'", "é", "日本語", "٣", ",", ". ", " ", "  "]
    pieces += ["averyveryverylongwordwithoutanybreaksatall" * 3, "((", "🙂"]
    texts = []
    for _ in range(3000):
        target = rng.choice([5, 60, 95, 96, 97, 150, 399, 400, 401, 790, 800, 801, 1200])
        t = ""
        while len(t) < target:
            t += rng.choice(pieces) + (" " if rng.random() < 0.7 else "")
        texts.append(t[: target + rng.randint(-2, 2)])
    texts += ["", " ", "--'", "one"]
    norms = pl.Series("norm", texts)
    got = _edge_words(norms, 6, 4, 8)
    full = norms.to_frame().select(
        pl.when(pl.col("norm").str.len_chars() <= 2 * _EDGE_CHARS)
        .then(pl.col("norm").str.count_matches(_WORD))
        .otherwise(1_000_000)
        .alias("nw"),
        pl.col("norm").str.slice(0, _EDGE_CHARS).str.extract_all(_WORD).alias("head"),
        pl.col("norm").str.slice(-_EDGE_CHARS).str.extract_all(_WORD).alias("tail"),
    )
    assert got.height == len(texts)
    assert got["_len"].to_list() == [len(t) for t in texts]
    for g_nw, g_head, g_tail, nw, head, tail in zip(
        got["_nw"], got["_head"], got["_tail"], full["nw"], full["head"], full["tail"], strict=True
    ):
        assert min(g_nw, 9) == min(nw, 9)
        assert list(g_head)[:6] == list(head)[:6]
        assert list(g_tail)[-4:] == list(tail)[-4:]

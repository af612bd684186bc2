"""ES108 capability_targeting: a narrow focus on code / tools / maths / reasoning vs a human's spread."""

from __future__ import annotations

from typing import Any

import polars as pl
from conftest import make_frame, run_detector

from extractscan.config import Config
from extractscan.detectors.base import RESULT_SCHEMA, ScanContext
from extractscan.detectors.capability_targeting import CapabilityTargeting, category_masks

TASKS = [
    "reverses a linked list", "parses an ISO date", "merges two sorted arrays", "computes a moving average",
    "flattens a nested dict", "validates an email address with a regex", "finds the longest palindrome",
    "implements an LRU cache", "deduplicates a list while keeping order", "counts words in a file",
    "serialises a tree to JSON", "retries an HTTP call with backoff", "detects a cycle in a graph",
    "converts roman numerals", "implements binary search",
]  # fmt: skip
CODE = [f"Write a Python function that {task}." for task in TASKS]
MATHS = [f"Solve for x: {a}x + {b} = {c}." for a, b, c in ((3, 5, 20), (2, 7, 19), (5, 1, 26), (4, 4, 24),
         (7, 3, 31), (6, 2, 38), (9, 9, 45), (8, 6, 70))] + [
    f"A shop sells {n} apples at {p} cents each. How much money does it make?" for n, p in
    ((12, 30), (40, 25), (7, 90), (15, 15), (22, 45), (35, 20), (18, 60))
]  # fmt: skip
HUMAN = [
    "what's a good recipe for banana bread?",
    "help me write an email to my landlord about the broken heater",
    "who won the world cup in 2018",
    "give me ideas for a 5 year old's birthday party",
    "summarize the plot of hamlet in a paragraph",
    "is it safe to eat raw cookie dough",
    "write a haiku about autumn leaves",
    "how do I fix a leaky kitchen faucet",
    "why is the sky blue",
    "plan a 3 day trip to lisbon on a budget",
    "tell me a fun fact about octopuses",
    "draft a short toast for my sister's wedding",
    "what are the pros and cons of electric cars",
    "rewrite this more formally: we gotta ship it tomorrow",
    "what should I ask in a job interview as the candidate",
    "my cat keeps scratching the sofa, any tips",
    "how do I undo my last git commit?",
    "I have 3 pizzas cut in 8 slices, how many slices do 6 people get each?",
    "riddle me this: what has keys but can't open locks",
    "recommend three sci-fi novels like dune",
]


def _rows(entity: str, texts: list[str], **extra: Any) -> list[dict[str, Any]]:
    return [{"account_id": entity, "record_id": f"{entity}-{i}", "text": t, **extra} for i, t in enumerate(texts)]


def _by(out: pl.DataFrame, entity: str) -> dict[str, Any]:
    return out.filter(pl.col("entity_id") == entity).row(0, named=True)


def _humans(k: int = 5) -> list[dict[str, Any]]:
    return [r for e in range(k) for r in _rows(f"human{e}", HUMAN[e:] + HUMAN[:e])]


def test_categories() -> None:
    texts = [CODE[0], MATHS[0], MATHS[-1], "Which of the following must be true if all A are B?", HUMAN[0]]
    tools = [
        {"account_id": "x", "record_id": "t", "text": "book me a table", "tools_count": 3},
        {"account_id": "x", "record_id": "p", "text": "ok", "part_types": ["tool_result"]},
        {
            "account_id": "x",
            "record_id": "s",
            "text": "hi",
            "system_text": "You have access to the following tools",
        },
    ]
    frame = make_frame(_rows("x", texts) + tools)
    got = category_masks(frame).to_dicts()
    assert [d["coding"] for d in got] == [True, False, False, False, False, False, False, False]
    assert [d["maths"] for d in got] == [False, True, True, False, False, False, False, False]
    assert [d["reasoning"] for d in got] == [False, False, False, True, False, False, False, False]
    assert [d["agentic"] for d in got] == [False, False, False, False, False, True, True, True]


def test_narrow_focus_fires_and_human_spread_does_not() -> None:
    rows = _rows("harvest", CODE * 2 + MATHS * 2) + _humans()
    out = run_detector(CapabilityTargeting(), make_frame(rows))
    assert out.schema == pl.Schema(RESULT_SCHEMA)
    assert out["score"].is_between(0.0, 1.0).all() and out["confidence"].is_between(0.0, 1.0).all()
    h = _by(out, "harvest")
    assert h["value"] == 1.0 and h["score"] == 1.0 and h["confidence"] > 0.9
    assert h["summary"].startswith("100% of 60 requests target coding+maths (population focus 10%")
    assert "coding 50% (pop 5%)" in h["summary"] and "maths 50%" in h["summary"] and "other 0%" in h["summary"]
    assert len(h["request_ids"]) == 5 and len(h["examples"]) == 3
    for e in range(5):
        assert _by(out, f"human{e}")["score"] == 0.0


def test_agentic_tool_traffic() -> None:
    rows = _rows("agent", CODE * 2, tools_count=4, part_types=["tool_use", "tool_result"]) + _humans()
    a = _by(run_detector(CapabilityTargeting(), make_frame(rows)), "agent")
    assert a["score"] == 1.0 and "agentic 100%" in a["summary"] and "coding+agentic" in a["summary"]


def test_relative_to_population() -> None:
    # Among coding-assistant accounts, one more coding account is less unusual than among humans.
    coders = [r for e in range(6) for r in _rows(f"dev{e}", CODE * 2 + HUMAN[: 4 + e])]
    alone = _by(run_detector(CapabilityTargeting(), make_frame(coders[:34] + _humans())), "dev0")
    among = _by(run_detector(CapabilityTargeting(), make_frame(coders)), "dev0")
    assert 0.0 <= among["score"] < alone["score"]
    assert "population focus 10%" in alone["summary"] and "population focus 70%" in among["summary"]


def test_small_population_uses_prior() -> None:
    out = run_detector(CapabilityTargeting(), make_frame(_rows("solo", MATHS * 3)))
    assert "population focus 30%" in out["summary"][0] and out["score"][0] == 1.0


def test_deterministic_and_empty() -> None:
    frame = make_frame(_rows("harvest", CODE + MATHS) + _humans())
    det = CapabilityTargeting()
    a = run_detector(det, frame)
    assert a.equals(run_detector(det, frame.sample(fraction=1.0, shuffle=True, seed=11)))
    ctx = ScanContext(config=Config())
    assert det.score(det.features(frame.clear(), ctx), ctx).height == 0

"""ES114 harvest_segment: harvest requests hidden in ordinary traffic."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from conftest import make_frame, run_detector

from extractscan.detectors.base import RESULT_SCHEMA
from extractscan.detectors.harvest_segment import HarvestSegment, binomial_surprise

_TOPICS = ["photosynthesis", "tax brackets", "a haiku on rain", "sourdough", "the french revolution", "rust lifetimes"]


def chat(name: str, n: int, ua: str = "Mozilla/5.0 Firefox/128.0") -> list[dict[str, Any]]:
    return [
        {
            "entity_id": name,
            "text": f"tell me about {_TOPICS[i % len(_TOPICS)]} please ({i})",
            "max_output_tokens": 1024,
            "output_tokens": 400,
            "user_agent": ua,
            "api_key_id": f"key:{name}",
        }
        for i in range(n)
    ]


def harvest(name: str, n: int, ua: str = "python-requests/2.32.3") -> list[dict[str, Any]]:
    return [
        {
            "entity_id": name,
            "text": f"Solve problem {i} about trains and apples. Think step by step and show your work.",
            "max_output_tokens": 16000,
            "output_tokens": 2200,
            "user_agent": ua,
            "api_key_id": f"key:{name}",
        }
        for i in range(n)
    ]


def by_entity(out: pl.DataFrame) -> dict[str, dict[str, Any]]:
    assert out.schema == pl.Schema(RESULT_SCHEMA)
    assert out["score"].is_between(0.0, 1.0).all()
    return {r["entity_id"]: r for r in out.to_dicts()}


def population() -> list[dict[str, Any]]:
    return [row for e in range(10) for row in chat(f"user{e}", 40)]


def test_fires_on_a_harvest_run_mixed_into_chat_through_its_own_client() -> None:
    rows = population() + chat("mixer", 60) + harvest("mixer", 8)
    out = by_entity(run_detector(HarvestSegment(), make_frame(rows)))
    m = out["mixer"]
    assert m["score"] == 1.0
    assert m["confidence"] > 0.9
    assert "8 of 68 requests" in m["summary"]
    assert "python-requests" in m["summary"]  # the segment that gave it away
    assert len(m["request_ids"]) == 5 and all("step by step" in e for e in m["examples"])
    assert all(out[f"user{e}"]["score"] == 0.0 for e in range(10))


def test_fires_without_a_separate_client_when_the_count_is_surprising() -> None:
    rows = population() + chat("mixer", 34, ua="") + harvest("mixer", 6, ua="")
    out = by_entity(run_detector(HarvestSegment(), make_frame(rows)))
    assert out["mixer"]["score"] > 0.8


def test_quiet_on_an_occasional_step_by_step_question() -> None:
    # Ordinary users ask for step-by-step answers with a large budget now and then: 2 of 60.
    rows = population() + chat("student", 58) + harvest("student", 2, ua="Mozilla/5.0 Firefox/128.0")
    out = by_entity(run_detector(HarvestSegment(), make_frame(rows)))
    assert out["student"]["score"] == 0.0


def test_quiet_when_reasoning_is_asked_with_short_answers() -> None:
    # A tutoring widget asking for steps but capping the answer is not a harvest request.
    rows = population() + [dict(r, max_output_tokens=512, output_tokens=300) for r in harvest("tutor", 40)]
    out = by_entity(run_detector(HarvestSegment(), make_frame(rows)))
    assert out["tutor"]["score"] == 0.0


def test_population_rate_raises_the_bar() -> None:
    # Where half the population routinely sends such requests, a few more are not surprising.
    rows = [row for e in range(10) for row in chat(f"u{e}", 30) + harvest(f"u{e}", 30, ua="Mozilla/5.0 Firefox/128.0")]
    rows += chat("x", 60) + harvest("x", 8, ua="Mozilla/5.0 Firefox/128.0")
    out = by_entity(run_detector(HarvestSegment(), make_frame(rows)))
    assert out["x"]["score"] == 0.0


def test_binomial_surprise() -> None:
    s = binomial_surprise(np.array([0, 1, 6]), np.array([40, 40, 40]), 0.01)
    assert s[0] == 0.0
    assert abs(s[1] - -np.log10(1 - 0.99**40)) < 1e-9  # P(X >= 1) = 1 - 0.99**40
    assert s[2] > 5.0

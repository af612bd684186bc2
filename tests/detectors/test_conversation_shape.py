"""ES110 conversation shape."""

from __future__ import annotations

from typing import Any

import polars as pl
from conftest import make_frame, run_detector

from extractscan.detectors.base import RESULT_SCHEMA
from extractscan.detectors.conversation_shape import ConversationShapeDetector


def check(out: pl.DataFrame) -> dict[str, dict[str, Any]]:
    assert out.schema == pl.Schema(RESULT_SCHEMA)
    assert out["score"].is_between(0.0, 1.0).all()
    assert out["confidence"].is_between(0.0, 1.0).all()
    return {r["entity_id"]: r for r in out.to_dicts()}


def chatters(n_entities: int = 6, threads: int = 8, depth: int = 3) -> list[dict[str, Any]]:
    """People: threads of ``depth`` user turns, each turn re-sending the history (a new prefix each time)."""
    return [
        {
            "entity_id": f"person{e}",
            "session_id": f"s{e}-{t}",
            "n_user_turns": k,
            "n_messages": 2 * k - 1,
            "prefix_hash": f"h{e}-{t}-{k}" if k > 1 else None,
            "text": f"person {e} thread {t} turn {k}",
        }
        for e in range(n_entities)
        for t in range(threads)
        for k in range(1, depth + 1)
    ]


def one_shot(name: str, n: int, **cols: Any) -> list[dict[str, Any]]:
    return [{"entity_id": name, "n_user_turns": 1, "n_messages": 1, "text": f"{name} task {i}", **cols} for i in range(n)]


def test_conversation_shape_fires_on_one_shot_harvester() -> None:
    rows = chatters() + one_shot("harvester", 120)
    # A fixed few-shot history re-sent with every prompt is a template, not a conversation.
    rows += [
        {
            "entity_id": "fewshot",
            "n_user_turns": 3,
            "n_messages": 5,
            "prefix_hash": "fixed-examples",
            "text": f"classify item {i}",
        }
        for i in range(80)
    ]
    res = check(run_detector(ConversationShapeDetector(), make_frame(rows)))
    h = res["harvester"]
    assert h["score"] == 1.0 and h["value"] == 1.0 and h["confidence"] >= 0.9
    assert h["summary"] == "100% of 120 requests are one-shot, 0 follow-up(s) (population 33%)"
    assert len(h["request_ids"]) == 5 and h["examples"] == [
        "harvester task 0",
        "harvester task 1",
        "harvester task 2",
    ]
    f = res["fewshot"]
    assert f["score"] == 1.0 and "80 multi-turn reuse a fixed prefix" in f["summary"]


def test_conversation_shape_quiet_on_people() -> None:
    res = check(run_detector(ConversationShapeDetector(), make_frame(chatters())))
    for r in res.values():
        assert r["score"] == 0.0 and abs(r["value"] - 1 / 3) < 1e-9 and r["confidence"] > 0.5


def test_sessions_without_turn_counts_are_followups() -> None:
    # Logs with sessions and growing message lists, but no user-turn count.
    rows = [
        {"entity_id": "person", "session_id": f"s{t}", "n_messages": 2 * k + 1, "n_user_turns": None}
        for t in range(10)
        for k in range(4)
    ]
    # A batch job tags every request with one trace id, but its message lists never grow.
    rows += [{"entity_id": "batch", "session_id": "job-1", "n_messages": 2, "n_user_turns": None} for _ in range(40)]
    res = check(run_detector(ConversationShapeDetector(), make_frame(rows)))
    assert res["person"]["score"] == 0.0 and res["person"]["value"] <= 0.3
    assert res["batch"]["value"] == 1.0


def test_one_shot_population_halves_the_score() -> None:
    # A population of API integrations: all one-shot. Being one-shot too is less distinctive.
    rows = [row for e in range(6) for row in one_shot(f"api{e}", 30)] + one_shot("harvester", 100)
    res = check(run_detector(ConversationShapeDetector(), make_frame(rows)))
    assert res["harvester"]["score"] == ConversationShapeDetector.Params().population_floor


def test_no_turn_information_gives_no_confidence() -> None:
    rows = [{"entity_id": "bare", "n_user_turns": None, "n_messages": None} for _ in range(30)]
    res = check(run_detector(ConversationShapeDetector(), make_frame(rows + chatters(2))))
    assert res["bare"]["score"] == 0.0 and res["bare"]["confidence"] == 0.0
    assert res["bare"]["value"] is None and res["bare"]["summary"] == "no turn or session information"


def test_conversation_shape_deterministic() -> None:
    frame = make_frame(chatters() + one_shot("harvester", 120))
    a = run_detector(ConversationShapeDetector(), frame)
    b = run_detector(ConversationShapeDetector(), frame.sample(fraction=1.0, shuffle=True, seed=11))
    assert a.equals(b)

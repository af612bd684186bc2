"""ES109 output harvesting."""

from __future__ import annotations

from typing import Any

import polars as pl
from conftest import make_frame, run_detector

from extractscan.detectors.base import RESULT_SCHEMA
from extractscan.detectors.output_harvesting import OutputHarvestingDetector


def check(out: pl.DataFrame) -> dict[str, dict[str, Any]]:
    assert out.schema == pl.Schema(RESULT_SCHEMA)
    assert out["score"].is_between(0.0, 1.0).all()
    assert out["confidence"].is_between(0.0, 1.0).all()
    return {r["entity_id"]: r for r in out.to_dicts()}


def entity(name: str, n: int, **cols: Any) -> list[dict[str, Any]]:
    return [{"entity_id": name, "model_requested": "m-large", "text": f"{name} prompt {i}", **cols} for i in range(n)]


def chat_users(n_entities: int = 8) -> list[dict[str, Any]]:
    return [
        row
        for e in range(n_entities)
        for row in entity(f"user{e}", 20, max_output_tokens=1024, input_tokens=300, output_tokens=350 + e)
    ]


def test_output_harvesting_fires_on_max_tokens_long_answers() -> None:
    rows = chat_users()
    rows += entity("harvester", 60, max_output_tokens=8192, input_tokens=60, output_tokens=2600, n_requested=1)
    rows += entity(
        "sampler",
        60,
        max_output_tokens=2048,
        input_tokens=80,
        output_tokens=900,
        n_requested=4,
        logprobs=True,
        top_logprobs=5,
    )
    res = check(run_detector(OutputHarvestingDetector(), make_frame(rows)))
    h = res["harvester"]
    assert h["score"] >= 0.8 and h["confidence"] >= 0.9 and h["value"] == 1.0
    assert h["summary"].startswith("of 60 requests: 100% ask for >= 8,000 output tokens")
    assert "get >= 1,500-token answers (population 0%)" in h["summary"]
    assert len(h["request_ids"]) == 5 and len(h["examples"]) == 3
    assert h["examples"][0] == "harvester prompt 0"
    # n > 1 with logprobs on long answers: several components at once.
    s = res["sampler"]
    assert s["score"] >= 0.6 and "ask for n > 1 choices" in s["summary"] and "logprobs" in s["summary"]
    assert max(res[f"user{e}"]["score"] for e in range(8)) == 0.0


def test_model_relative_maximum() -> None:
    # A small model whose cap is 2,048: asking for the cap is "near the maximum" there.
    rows = [dict(r, model_requested="m-small", max_output_tokens=256) for r in chat_users()]
    rows += entity("capper", 40, model_requested="m-small", max_output_tokens=2048, input_tokens=100, output_tokens=300)
    res = check(run_detector(OutputHarvestingDetector(), make_frame(rows)))
    assert res["capper"]["score"] >= 0.45 and "near the model's max" in res["capper"]["summary"]
    assert res["user0"]["score"] == 0.0


def test_output_harvesting_quiet_on_hard_negatives() -> None:
    rows = chat_users()
    # Benchmark runner: temperature 0, small max_tokens, short answers.
    rows += entity("benchmark", 200, max_output_tokens=256, temperature=0.0, input_tokens=400, output_tokens=12)
    # Support bot: long system prompt, moderate max_tokens, short replies.
    rows += entity("support_bot", 200, max_output_tokens=500, input_tokens=1200, output_tokens=150)
    # Classifier reading label probabilities: logprobs on one-token answers.
    rows += entity(
        "classifier",
        200,
        max_output_tokens=1,
        logprobs=True,
        top_logprobs=5,
        input_tokens=300,
        output_tokens=1,
    )
    res = check(run_detector(OutputHarvestingDetector(), make_frame(rows)))
    for name in ("benchmark", "support_bot", "classifier"):
        assert res[name]["score"] == 0.0, res[name]
        assert res[name]["confidence"] >= 0.9
        assert res[name]["request_ids"] == []


def test_population_default_is_not_distinctive() -> None:
    # Everyone's client sends the model maximum: that alone says nothing about one entity.
    rows = [dict(r, max_output_tokens=8192) for r in chat_users()]
    rows += entity("also_default", 50, max_output_tokens=8192, input_tokens=300, output_tokens=400)
    res = check(run_detector(OutputHarvestingDetector(), make_frame(rows)))
    assert res["also_default"]["score"] == 0.0
    assert "(population 100%)" in res["also_default"]["summary"]


def test_missing_parameters_give_no_confidence() -> None:
    rows = [{"entity_id": "bare", "text": f"q {i}"} for i in range(30)] + chat_users(3)
    res = check(run_detector(OutputHarvestingDetector(), make_frame(rows)))
    assert res["bare"]["score"] == 0.0 and res["bare"]["confidence"] == 0.0


def test_output_harvesting_deterministic() -> None:
    rows = chat_users() + entity("harvester", 60, max_output_tokens=8192, input_tokens=60, output_tokens=2600)
    frame = make_frame(rows)
    a = run_detector(OutputHarvestingDetector(), frame)
    b = run_detector(OutputHarvestingDetector(), frame.sample(fraction=1.0, shuffle=True, seed=3))
    assert a.equals(b)


def test_campaign_spread_over_many_accounts_does_not_set_the_baseline() -> None:
    # More harvesting accounts than ordinary ones: the baseline (a low quantile) still reflects the latter.
    rows = chat_users(6)
    for a in range(10):
        rows += entity(f"hydra{a}", 20, max_output_tokens=16384, input_tokens=50, output_tokens=2400)
    res = check(run_detector(OutputHarvestingDetector(), make_frame(rows)))
    assert min(res[f"hydra{a}"]["score"] for a in range(10)) >= 0.8
    assert max(res[f"user{e}"]["score"] for e in range(6)) == 0.0

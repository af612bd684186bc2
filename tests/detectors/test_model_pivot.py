"""ES112 model pivot."""

from __future__ import annotations

from typing import Any

import polars as pl
from conftest import make_frame, run_detector

from extractscan.config import Config
from extractscan.detectors.base import RESULT_SCHEMA, ScanContext
from extractscan.detectors.model_pivot import ModelPivotDetector

T0 = 1_772_409_600.0  # 2026-03-02 00:00 UTC
H = 3600.0
RELEASE = T0 + 72 * H  # "m-new" first appears on day 4 of the window


def check(out: pl.DataFrame) -> dict[str, dict[str, Any]]:
    assert out.schema == pl.Schema(RESULT_SCHEMA)
    assert out["score"].is_between(0.0, 1.0).all()
    assert out["confidence"].is_between(0.0, 1.0).all()
    return {r["entity_id"]: r for r in out.to_dicts()}


def traffic(name: str, model: str, start: float, n: int, every: float, **cols: Any) -> list[dict[str, Any]]:
    return [{"entity_id": name, "model_requested": model, "ts": start + i * every, **cols} for i in range(n)]


def population() -> list[dict[str, Any]]:
    rows = traffic("first_user", "m-new", RELEASE, 3, 60.0)  # defines the release time
    # An app that keeps its tested model while the new one is out.
    rows += traffic("app", "m-old", T0, 200, 1800.0)
    # Early adopters: try the new model a few times on release day, little volume.
    rows += traffic("early", "m-old", T0, 40, H) + traffic("early", "m-new", RELEASE + 3 * H, 4, 600.0)
    rows += traffic("early3", "m-old", T0, 40, H) + traffic("early3", "m-new", RELEASE + 2 * H, 3, 600.0)
    # A benchmark runner: one evaluation burst per model, the new one on release day.
    rows += traffic("benchmark", "m-old", T0 + 10 * H, 100, 20.0)
    rows += traffic("benchmark", "m-new", RELEASE + 5 * H, 100, 20.0)
    # A slow migrator: moves four days after the release.
    rows += traffic("slow", "m-old", T0, 60, H) + traffic("slow", "m-new", RELEASE + 96 * H, 60, 600.0)
    return rows


def test_model_pivot_fires_on_release_day_switch() -> None:
    rows = population()
    rows += traffic("harvester", "m-old", T0, 72, H)
    rows += [dict(r, text=f"explain {i}") for i, r in enumerate(traffic("harvester", "m-new", RELEASE + 2 * H, 150, 300.0))]
    res = check(run_detector(ModelPivotDetector(), make_frame(rows)))
    h = res["harvester"]
    assert h["score"] == 1.0 and h["value"] == 1.0 and h["confidence"] >= 0.9
    assert h["summary"] == (
        "moved 100% of later traffic (150 requests) to new model m-new, 2.0 h after it first appeared "
        "(72 earlier requests on other models)"
    )
    assert len(h["request_ids"]) == 5 and h["examples"] == ["explain 0", "explain 1", "explain 2"]


def test_model_pivot_quiet_on_adopters_and_stayers() -> None:
    res = check(run_detector(ModelPivotDetector(), make_frame(population())))
    assert res["app"]["score"] == 0.0 and res["app"]["value"] == 0.0
    assert res["app"]["summary"] == "active after a new model appeared but did not use it"
    # Early adopter: right lag, all later traffic, but four requests: low score and low confidence.
    assert res["early"]["score"] == 0.0 and res["early"]["confidence"] < 0.35
    assert res["early3"]["score"] == 0.0 and res["early3"]["value"] == 1.0
    assert res["slow"]["score"] == 0.0 and "96.0 h after" in res["slow"]["summary"]
    # A one-off burst on the new model is an evaluation, not a move of traffic: burst_only_factor remains.
    assert res["benchmark"]["value"] == 1.0
    assert res["benchmark"]["score"] == ModelPivotDetector.Params().burst_only_factor


def test_partial_move_scores_lower() -> None:
    rows = population()
    # Keeps two thirds of its traffic on the old model after trying the new one.
    rows += traffic("mixed", "m-old", T0, 300, 1800.0)
    rows += traffic("mixed", "m-new", RELEASE + H, 100, 600.0)
    res = check(run_detector(ModelPivotDetector(), make_frame(rows)))
    assert res["mixed"]["score"] == 0.0 and res["mixed"]["value"] < 0.5


def test_models_present_from_the_start_are_not_new() -> None:
    rows = traffic("a", "m-old", T0, 50, 60.0) + traffic("b", "m-other", T0 + 600, 50, 60.0)
    res = check(run_detector(ModelPivotDetector(), make_frame(rows)))
    for r in res.values():
        assert r["score"] == 0.0 and r["confidence"] == 0.0
        assert r["summary"] == "no model new in the scan window"
    # With the scan window given, a model first seen well inside it is new.
    ctx = ScanContext(config=Config(), window_start=T0 - 3 * 86_400.0)
    res = check(run_detector(ModelPivotDetector(), make_frame(rows), ctx))
    assert res["a"]["score"] == 1.0 and res["b"]["score"] == 1.0


def test_no_model_names() -> None:
    rows = population() + [{"entity_id": "bare", "ts": RELEASE + i * 60.0} for i in range(30)]
    res = check(run_detector(ModelPivotDetector(), make_frame(rows)))
    assert res["bare"]["score"] == 0.0 and res["bare"]["confidence"] == 0.0
    assert res["bare"]["summary"] == "no model name in the logs"


def test_model_pivot_deterministic() -> None:
    frame = make_frame(population() + traffic("harvester", "m-new", RELEASE + H, 80, 300.0))
    a = run_detector(ModelPivotDetector(), frame)
    b = run_detector(ModelPivotDetector(), frame.sample(fraction=1.0, shuffle=True, seed=2))
    assert a.equals(b)

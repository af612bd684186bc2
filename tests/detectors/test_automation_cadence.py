"""ES111 automation cadence."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import polars as pl
from conftest import make_frame, run_detector

from extractscan.detectors.automation_cadence import AutomationCadenceDetector
from extractscan.detectors.base import RESULT_SCHEMA

T0 = 1_772_409_600.0  # 2026-03-02 00:00 UTC
DAY = 86_400.0


def check(out: pl.DataFrame) -> dict[str, dict[str, Any]]:
    assert out.schema == pl.Schema(RESULT_SCHEMA)
    assert out["score"].is_between(0.0, 1.0).all()
    assert out["confidence"].is_between(0.0, 1.0).all()
    return {r["entity_id"]: r for r in out.to_dicts()}


def people(rng: np.random.Generator, n: int = 4, days: int = 3) -> list[dict[str, Any]]:
    """Office-hours sessions of a few prompts, separated by lognormal reading/thinking time."""
    rows = []
    for e in range(n):
        for d in range(days):
            for _ in range(3):
                t = T0 + d * DAY + rng.uniform(9, 17) * 3600
                for _ in range(int(rng.integers(3, 10))):
                    rows.append({"entity_id": f"person{e}", "ts": t})
                    t += rng.lognormal(np.log(60), 1.0)
    return rows


def scheduled(name: str, rng: np.random.Generator, every: float, days: float) -> list[dict[str, Any]]:
    """A script: one request every ``every`` seconds (+-5%), day and night."""
    rows: list[dict[str, Any]] = []
    t = T0
    while t < T0 + days * DAY:
        rows.append({"entity_id": name, "ts": t, "text": f"{name} job {len(rows)}"})
        t += every * rng.uniform(0.95, 1.05)
    return rows


def benchmark(rng: np.random.Generator, days: int = 3) -> list[dict[str, Any]]:
    """An evaluation run at 14:00 every day: 4 workers, each firing as soon as its last answer came back."""
    rows = []
    for d in range(days):
        for _ in range(4):
            t = T0 + d * DAY + 14 * 3600
            for _ in range(75):
                rows.append({"entity_id": "benchmark", "ts": t})
                t += rng.gamma(2.0, 0.8)
    return rows


def support_bot(rng: np.random.Generator, days: int = 2) -> list[dict[str, Any]]:
    """Customer traffic relayed by one account: Poisson arrivals, round the clock, with a daily swing."""
    rows: list[dict[str, Any]] = []
    t = T0
    while t < T0 + days * DAY:
        hour = (t - T0) % DAY / 3600
        rate = (1 + 0.8 * np.sin((hour - 6) / 24 * 2 * np.pi)) / 60
        t += rng.exponential(1 / rate)
        rows.append({"entity_id": "support_bot", "ts": t})
    return rows


def test_cadence_fires_on_round_the_clock_script() -> None:
    rng = np.random.default_rng(1)
    rows = people(rng) + scheduled("script", rng, every=300.0, days=3)
    res = check(run_detector(AutomationCadenceDetector(), make_frame(rows)))
    s = res["script"]
    assert s["score"] >= 0.9 and s["confidence"] == 1.0
    assert s["value"] < 0.1  # gap coefficient of variation
    assert re.search(r"gap CV 0\.0\d \(100% of [\d,]+ gaps near (299|300)\.\d s\)", s["summary"]), s["summary"]
    assert "active in 24/24 hours of day" in s["summary"]
    assert len(s["request_ids"]) == 5 and s["examples"][0] == "script job 1"
    for e in range(4):
        assert res[f"person{e}"]["score"] == 0.0 and res[f"person{e}"]["value"] > 0.8


def test_cadence_modest_on_hard_negatives() -> None:
    rng = np.random.default_rng(2)
    rows = people(rng) + benchmark(rng) + support_bot(rng)
    res = check(run_detector(AutomationCadenceDetector(), make_frame(rows)))
    # Automated, but neither regular nor sustained: only the low-weight speed component and some flatness.
    assert res["benchmark"]["score"] <= 0.35
    assert re.search(r"9\d% concurrent", res["benchmark"]["summary"])
    assert res["support_bot"]["score"] <= 0.35 and res["support_bot"]["value"] > 0.9
    for e in range(4):
        assert res[f"person{e}"]["score"] == 0.0


def test_few_requests_score_low() -> None:
    rows = [{"entity_id": "tiny", "ts": T0 + i * 30.0} for i in range(5)]
    # Regular and spread over every hour of the day, but only 30 requests.
    rows += [{"entity_id": "sparse", "ts": T0 + i * 3600.0} for i in range(30)]
    res = check(run_detector(AutomationCadenceDetector(), make_frame(rows)))
    assert res["tiny"]["score"] == 0.0 and res["tiny"]["confidence"] < 0.4
    assert res["sparse"]["score"] == 0.0 and res["sparse"]["confidence"] < 0.75


def test_cadence_deterministic() -> None:
    rng = np.random.default_rng(3)
    frame = make_frame(people(rng) + scheduled("script", rng, every=120.0, days=1) + benchmark(rng, days=1))
    a = run_detector(AutomationCadenceDetector(), frame)
    b = run_detector(AutomationCadenceDetector(), frame.sample(fraction=1.0, shuffle=True, seed=5))
    assert a.equals(b)

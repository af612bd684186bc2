"""ES101 volume, plus the registry checks shared by the behavioural detectors (ES101, ES109-ES113)."""

from __future__ import annotations

import dataclasses
import inspect
import re
from typing import Any

import polars as pl
import pytest
from conftest import make_frame, run_detector

from extractscan.config import Config
from extractscan.detectors.automation_cadence import AutomationCadenceDetector
from extractscan.detectors.base import RESULT_SCHEMA, Detector, ScanContext
from extractscan.detectors.conversation_shape import ConversationShapeDetector
from extractscan.detectors.model_pivot import ModelPivotDetector
from extractscan.detectors.output_harvesting import OutputHarvestingDetector
from extractscan.detectors.registry import detector_classes
from extractscan.detectors.shared_infrastructure import SharedInfrastructureDetector
from extractscan.detectors.volume import VolumeDetector, fmt_int, fmt_pct

T0 = 1_772_409_600.0  # 2026-03-02 00:00 UTC
MINE: dict[str, type[Detector]] = {
    "ES101": VolumeDetector,
    "ES109": OutputHarvestingDetector,
    "ES110": ConversationShapeDetector,
    "ES111": AutomationCadenceDetector,
    "ES112": ModelPivotDetector,
    "ES113": SharedInfrastructureDetector,
}


def check(out: pl.DataFrame) -> dict[str, dict[str, Any]]:
    assert out.schema == pl.Schema(RESULT_SCHEMA)
    assert out["score"].is_between(0.0, 1.0).all()
    assert out["confidence"].is_between(0.0, 1.0).all()
    assert (out["summary"].str.len_chars() > 0).all()
    return {r["entity_id"]: r for r in out.to_dicts()}


def population(n_entities: int = 20, per_day: int = 10, days: int = 2) -> list[dict[str, Any]]:
    """Ordinary users: ``per_day`` requests on each of ``days`` days, a few hundred tokens each."""
    return [
        {
            "entity_id": f"user{e:02d}",
            "ts": T0 + d * 86_400 + 9 * 3600 + e * 60 + i * 1800.0,
            "input_tokens": 120 + e,
            "output_tokens": 300,
        }
        for e in range(n_entities)
        for d in range(days)
        for i in range(per_day)
    ]


def test_volume_fires_on_heavy_entity() -> None:
    rows = population()
    rows += [
        {
            "entity_id": "heavy",
            "ts": T0 + d * 86_400 + i * 40.0,
            "input_tokens": 60,
            "output_tokens": 1800,
            "text": f"Solve step by step: problem {d}-{i}",
        }
        for d in range(2)
        for i in range(1500)
    ]
    res = check(run_detector(VolumeDetector(), make_frame(rows)))
    heavy = res["heavy"]
    assert heavy["score"] >= 0.9 and heavy["confidence"] >= 0.9
    assert heavy["value"] >= 5.0
    assert "1,500 requests/day on 2 active day(s)" in heavy["summary"]
    assert "population median 10" in heavy["summary"]
    assert 0 < len(heavy["request_ids"]) <= 5 and 0 < len(heavy["examples"]) <= 3
    assert max(r["score"] for k, r in res.items() if k != "heavy") == 0.0


def test_volume_quiet_when_population_is_alike_or_small() -> None:
    # Twenty busy templated apps of similar size: none stands out.
    rows = [
        {"entity_id": f"app{e:02d}", "ts": T0 + i * (60.0 + e), "input_tokens": 400, "output_tokens": 80}
        for e in range(20)
        for i in range(300 + 10 * e)
    ]
    res = check(run_detector(VolumeDetector(), make_frame(rows)))
    assert max(r["score"] for r in res.values()) == 0.0
    # An outlier among tiny accounts that is still small in absolute terms is not flagged.
    rows = population(per_day=2) + [{"entity_id": "keen", "ts": T0 + i * 600.0} for i in range(30)]
    res = check(run_detector(VolumeDetector(), make_frame(rows)))
    assert res["keen"]["value"] > 2.0 and res["keen"]["score"] == 0.0
    # Volume is context: it must not be able to flag a benign busy app on its own.
    assert VolumeDetector.weight <= 0.6


def test_volume_low_confidence_on_tiny_population() -> None:
    rows = [{"entity_id": "solo", "ts": T0 + i * 10.0} for i in range(400)]
    res = check(run_detector(VolumeDetector(), make_frame(rows)))
    assert res["solo"]["score"] == 0.0 and res["solo"]["confidence"] < 0.1


def test_volume_deterministic_under_row_order() -> None:
    rows = population() + [{"entity_id": "heavy", "ts": T0 + i * 30.0} for i in range(2000)]
    frame = make_frame(rows)
    a = run_detector(VolumeDetector(), frame)
    b = run_detector(VolumeDetector(), frame.sample(fraction=1.0, shuffle=True, seed=7))
    assert a.equals(b)


def test_number_formatting() -> None:
    df = pl.DataFrame({"x": [0.0, 999.4, 1204.0, 1_234_567.0, 2_000_000_001.0, None]})
    got = df.select(fmt_int(pl.col("x")))["x"].to_list()
    assert got == ["0", "999", "1,204", "1,234,567", "2,000,000,001", None]
    assert pl.select(fmt_pct(pl.lit(0.916))).item() == "92%"


# ------------------------------------------------------------------------------------------------
# Registry and documentation of the behavioural detectors.

_HEADINGS = (
    "**What it measures.**",
    "**Why it indicates extraction.**",
    "**Evidence.**",
    "**Known false positives.**",
)


def test_registry_discovers_behavioural_detectors() -> None:
    classes = detector_classes()
    ids = [c.id for c in classes]
    assert len(ids) == len(set(ids))
    for det_id, cls in MINE.items():
        assert cls in classes and cls.id == det_id
        assert cls.name and cls.summary and "\n" not in cls.summary
        assert 0.0 < cls.weight <= 1.0
    names = [c.name for c in classes]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("cls", list(MINE.values()), ids=list(MINE))
def test_params_and_docstring_documented(cls: type[Detector]) -> None:
    doc = inspect.getdoc(cls) or ""
    positions = [doc.find(h) for h in _HEADINGS]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), f"{cls.id}: docstring headings"
    source = inspect.getsource(cls.Params)
    fields = dataclasses.fields(cls.Params)
    assert fields, f"{cls.id}: no parameters"
    assert cls.Params.__dataclass_params__.frozen  # type: ignore[attr-defined]
    for f in fields:
        line = next((ln for ln in source.splitlines() if re.match(rf"\s+{f.name}\s*:", ln)), "")
        assert re.search(r"#\s*\S", line), f"{cls.id}: Params.{f.name} default has no comment"
    # Every parameter can be set from the configuration ([detectors.ES1xx]).
    first = fields[0]
    cfg = Config(detectors={cls.id: {first.name: getattr(cls.Params(), first.name)}})
    assert cls.from_config(cfg).params == cls.Params()


@pytest.mark.parametrize("cls", list(MINE.values()), ids=list(MINE))
def test_empty_input_gives_empty_result(cls: type[Detector]) -> None:
    det = cls()
    ctx = ScanContext(config=Config())
    empty = make_frame(population(n_entities=1, per_day=1, days=1)).head(0)
    assert run_detector(det, empty).schema == pl.Schema(RESULT_SCHEMA)
    # A scan without partitions hands over a features frame with the entity column only.
    bare = pl.DataFrame(schema={"entity_id": pl.String()})
    assert det.score(bare, ctx).is_empty()


def mixed_rows() -> list[dict[str, Any]]:
    """A small population touching every behavioural signal."""
    rows = []
    for e in range(12):
        bot = e < 3
        for i in range(40 if bot else 15):
            rows.append(
                {
                    "entity_id": f"e{e:02d}",
                    "ts": T0 + (i * 600.0 if bot else e * 3700.0 + i * 97.0 * (1 + i % 4)),
                    "model_requested": "m-new" if bot and i >= 20 else "m-old",
                    "max_output_tokens": 16384 if bot else 1024,
                    "input_tokens": 50,
                    "output_tokens": 2000 if bot else 300,
                    "n_user_turns": 1 if bot else 1 + i % 3,
                    "client_ip": f"203.0.113.{e}" if bot else f"198.51.{e}.7",
                    "user_agent": "harvest/1.0" if bot else "Mozilla/5.0",
                }
            )
    return rows


@pytest.mark.parametrize("cls", list(MINE.values()), ids=list(MINE))
def test_partitioned_features_give_the_same_result(cls: type[Detector]) -> None:
    # The scan computes features per partition of entities and scores their concatenation.
    from extractscan.prepare import partition_expr

    frame = make_frame(mixed_rows())
    ctx = ScanContext(config=Config(), window_start=T0 - 86_400.0, window_end=T0 + 86_400.0)
    det = cls()
    whole = det.score(det.features(frame, ctx), ctx)
    parts = [frame.filter(partition_expr("entity_id", 3) == k) for k in range(3)]
    assert all(p.height for p in parts)
    feats = pl.concat([det.features(p, ctx) for p in parts], how="diagonal_relaxed")
    split = det.score(feats, ctx)
    assert whole.equals(split)
    assert (whole["score"] > 0).any()  # the population is not inert for any detector

"""Partitions scanned in worker processes give the result of the in-process loop."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from extractscan import api
from extractscan import scan as scan_mod
from extractscan.config import Config
from extractscan.scan import plan_scan_workers, scan_frame_source
from extractscan.store import Store

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs"


def _cfg(**kw: Any) -> Config:
    cfg = Config(**kw)
    return cfg.replace(embed=dataclasses.replace(cfg.embed, enabled=False))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("parallel")
    api.ingest([SAMPLE], out / "store", _cfg())
    return out / "store"


def _comparable(result: Any) -> dict[str, Any]:
    d = result.to_dict()
    stats = {k: v for k, v in d["stats"].items() if k not in ("stage_seconds", "partitions", "workers")}
    return {"accounts": d["accounts"], "campaigns": d["campaigns"], "window": d["window"], "stats": stats}


def _ranking(result: Any) -> tuple[Any, ...]:
    accounts = tuple((a.entity_id, a.rank, a.score, a.flagged, a.campaign_id) for a in result.accounts)
    detectors = tuple((a.entity_id, d.detector_id, d.score) for a in result.accounts for d in a.detectors)
    return accounts, detectors, tuple(dataclasses.asdict(c) for c in result.campaigns)


def test_parallel_partitions_give_the_in_process_result(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sequential = scan_frame_source(Store(store).scan(), _cfg(scan_workers=1))
    assert sequential.stats.workers == 1 and sequential.stats.partitions == 1
    monkeypatch.setattr(scan_mod, "_PARALLEL_MIN_ROWS", 0)  # this sample is small
    # 2 workers over 6 partitions read from the store per partition ...
    few = scan_frame_source(Store(store).scan(), _cfg(scan_workers=2, partition_rows=1_000), work_dir=tmp_path)
    assert (few.stats.workers, few.stats.partitions) == (2, 6)
    # ... and over 20 partitions read from per-partition files split off first.
    many = scan_frame_source(Store(store).scan(), _cfg(scan_workers=2, partition_rows=300), work_dir=tmp_path)
    assert (many.stats.workers, many.stats.partitions) == (2, 20)
    assert os.listdir(tmp_path) == []  # the split folder is gone
    # The same partitions scanned in-process give the same result, evidence included ...
    monkeypatch.setattr(scan_mod, "_PARALLEL_MIN_ROWS", 10**9)
    for parallel, rows in ((few, 1_000), (many, 300)):
        in_process = scan_frame_source(Store(store).scan(), _cfg(scan_workers=2, partition_rows=rows))
        assert in_process.stats.workers == 1
        assert _comparable(parallel) == _comparable(in_process)
    # ... and every partitioning the same scores, ranks and campaigns (partition-local cluster ids aside).
    expected = _ranking(sequential)
    assert _ranking(few) == expected and _ranking(many) == expected
    assert any(a.flagged for a in many.accounts) and many.campaigns
    # Stage seconds add up the workers' partitions, with the cluster stage's parts.
    assert {"load", "cluster", "cluster.minhash", "detect", "link"} <= set(many.stats.stage_seconds)


def test_workers_plan() -> None:
    big = scan_mod._PARALLEL_MIN_ROWS
    assert plan_scan_workers(_cfg(scan_workers=3), big, need_embed=False) == 3
    assert plan_scan_workers(_cfg(scan_workers=3), big, need_embed=True) == 1  # the model stays in-process
    assert plan_scan_workers(_cfg(scan_workers=3), big - 1, need_embed=False) == 1  # small scans too
    assert plan_scan_workers(_cfg(scan_workers=1), big, need_embed=False) == 1
    assert 1 <= plan_scan_workers(_cfg(), big, need_embed=False) <= 8

"""Parallel ingest (worker processes over chunks of files) stores exactly what a sequential run stores."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from typer.testing import CliRunner

from extractscan.cli import app
from extractscan.config import Config, IngestConfig
from extractscan.ingest import pipeline
from extractscan.ingest.pipeline import ingest_paths, plan_workers
from extractscan.models import IngestReport
from extractscan.store import Store

FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "formats"


def config(workers: int) -> Config:
    cfg = Config()
    return cfg.replace(ingest=dataclasses.replace(cfg.ingest, workers=workers, parallel_min_bytes=0))


def envelope(i: int, acct: str, day: int = 2) -> dict[str, Any]:
    return {
        "timestamp": f"2025-06-0{day}T10:{i % 60:02d}:00Z",
        "account_id": acct,
        "request_id": f"r{i}",
        "request": {"model": "gpt-4o", "messages": [{"role": "user", "content": f"question {i} about {acct}"}]},
    }


def make_logs(root: Path) -> Path:
    """Real fixtures plus files that exercise the cross-file rules: record ids repeated in a later file,
    an exact copy of a file, an unrecognised file and its copy, garbage lines."""
    logs = root / "logs"
    shutil.copytree(FORMATS, logs / "formats")
    a = [envelope(i, "acct-a", day=2 + i % 3) for i in range(40)]
    b = [envelope(i, "acct-b") for i in range(30, 70)]  # r30..r39 repeat ids of a.jsonl
    (logs / "a.jsonl").write_bytes(b"\n".join(orjson.dumps(r) for r in a) + b"\n{not json\n")
    (logs / "b.jsonl").write_bytes(b"\n".join(orjson.dumps(r) for r in b) + b"\n")
    shutil.copy(logs / "a.jsonl", logs / "z-copy-of-a.jsonl")
    (logs / "odd.jsonl").write_bytes(b'{"x": 1}\n{"y": 2}\n')
    shutil.copy(logs / "odd.jsonl", logs / "odd-copy.jsonl")
    return logs


def comparable(report: IngestReport) -> dict[str, Any]:
    d = report.to_dict()
    for k in ("run_id", "store", "duration_s", "quarantine_path"):
        d.pop(k, None)
    return d


def test_parallel_run_equals_sequential_run(tmp_path: Path) -> None:
    logs = make_logs(tmp_path)
    seq_store, par_store = Store(tmp_path / "seq"), Store(tmp_path / "par")
    seq = ingest_paths([logs], seq_store, config(1))
    par = ingest_paths([logs], par_store, config(2))

    assert comparable(par) == comparable(seq)
    t = par.totals
    assert t.read == t.stored + t.duplicate + t.quarantined and t.stored > 100 and t.duplicate >= 10
    statuses = {Path(f.path).name: f.status for f in par.files}
    assert statuses["z-copy-of-a.jsonl"] == "duplicate_file"
    assert statuses["odd-copy.jsonl"] != "duplicate_file"  # an unrecognised file is read again, as sequentially
    # Same rows in the same order (the commit keeps the first occurrence of a record id in input order).
    assert par_store.scan().collect().equals(seq_store.scan().collect())
    assert par_store.quarantine_frame().drop("run_id").equals(seq_store.quarantine_frame().drop("run_id"))
    strip = ("run_id", "time")
    man = [{k: v for k, v in dataclasses.asdict(e).items() if k not in strip} for e in par_store.manifest()]
    assert man == [{k: v for k, v in dataclasses.asdict(e).items() if k not in strip} for e in seq_store.manifest()]

    again = ingest_paths([logs], par_store, config(2))  # idempotent: the second run stores nothing new
    assert again.totals.stored == 0 and again.totals.read == t.read


def test_a_failing_merge_leaves_the_store_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    logs = make_logs(tmp_path)
    store = Store(tmp_path / "store")
    ingest_paths([FORMATS / "envelope.jsonl"], store, config(1))
    before = store.scan().collect()
    calls = 0
    original = pipeline._merge_chunk

    def fail_second(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("killed mid-run")
        original(*args)

    monkeypatch.setattr(pipeline, "_merge_chunk", fail_second)
    with pytest.raises(RuntimeError, match="killed mid-run"):
        ingest_paths([logs], store, config(2))
    assert calls == 2
    assert store.scan().collect().equals(before)
    assert len(store.runs()) == 1
    assert not list((store.root / "_txn").glob("*/staged"))  # the aborted run's staging is gone


def test_plan_workers() -> None:
    cfg = IngestConfig(workers=4, parallel_min_bytes=100)
    assert plan_workers(cfg, [60, 60, 60]) == 3  # at most one per file
    assert plan_workers(cfg, [60]) == 1
    assert plan_workers(cfg, [10, 10]) == 1  # a small run stays in-process
    assert plan_workers(IngestConfig(workers=1, parallel_min_bytes=0), [60, 60]) == 1
    auto = plan_workers(IngestConfig(workers=0, parallel_min_bytes=0), [1] * 64)
    assert 1 <= auto <= min(pipeline.available_cores(), 8)


def test_cli_workers_option(tmp_path: Path) -> None:
    logs = make_logs(tmp_path)
    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text("[ingest]\nparallel_min_bytes = 0\n")
    out = CliRunner().invoke(
        app, ["ingest", str(logs), "--store", str(tmp_path / "s"), "--workers", "2", "--json", "--config", str(cfg_file)]
    )
    assert out.exit_code == 0, out.output
    doc = orjson.loads(out.stdout)
    ref = ingest_paths([logs], Store(tmp_path / "ref"), config(1))
    assert doc["totals"] == ref.to_dict()["totals"]
    rows = pl.read_parquet(sorted((tmp_path / "s" / "requests").rglob("*.parquet")))
    assert rows.height == ref.totals.stored

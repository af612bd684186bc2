"""The store: commit protocol, recovery after a kill at every step, dedupe, read API."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractscan.schema import CANONICAL_SCHEMA, PARTITION_COLUMN, QUARANTINE_SCHEMA
from extractscan.store import (
    ManifestEntry,
    SimulatedCrash,
    Store,
    StoreError,
    StoreLocked,
)


def rows(ids: list[str], day: int | None = 1, fmt: str = "fmt_a", file: str = "in.jsonl") -> pa.Table:
    data: list[dict[str, Any]] = []
    for i, rid in enumerate(ids):
        data.append(
            {
                "record_id": rid,
                "source_format": fmt,
                "source_file": file,
                "source_offset": i + 1,
                "event_time": datetime(2025, 1, day, 12, i % 60, tzinfo=UTC) if day else None,
                "account_id": f"acct-{i % 2}",
                "messages": [{"role": "user", "text": f"text {rid}"}],
                "n_messages": 1,
            }
        )
    return pa.Table.from_pylist(data, schema=CANONICAL_SCHEMA)


def entry(path: str = "in.jsonl", fmt: str = "fmt_a", read: int = 0) -> ManifestEntry:
    return ManifestEntry(path=path, size=10, sha256="ab" * 32, format=fmt, records=read, read=read)


def commit(store: Store, *tables: pa.Table, quarantine: int = 0, **kw: Any) -> Any:
    with store.begin_run() as run:
        for t in tables:
            run.write_rows(t)
        if quarantine:
            run.quarantine(
                [
                    {
                        "source_file": "in.jsonl",
                        "source_offset": i,
                        "source_format": "fmt_a",
                        "kind": "error",
                        "reason": "invalid_json",
                        "message": "bad",
                        "excerpt": "{",
                        "raw_bytes": 1,
                    }
                    for i in range(quarantine)
                ]
            )
        run.add_file(entry(read=sum(t.num_rows for t in tables) + quarantine))
        return run.commit(**kw)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file of the store except the lock and transactions."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock" and "_txn" not in p.relative_to(root).parts
    }


# --------------------------------------------------------------------------------------------------


def test_create_commit_and_read(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    assert store.scan().collect().height == 0
    assert PARTITION_COLUMN in store.scan().collect_schema()
    result = commit(store, rows(["a", "b"], day=1), rows(["c"], day=2), rows(["d"], day=None), quarantine=2)
    assert result.stored == {"fmt_a": 4} and result.duplicate == {"fmt_a": 0}
    assert result.quarantined == 2
    df = store.scan().collect().sort("record_id")
    assert df["record_id"].to_list() == ["a", "b", "c", "d"]
    assert df[PARTITION_COLUMN].to_list() == ["2025-01-01", "2025-01-01", "2025-01-02", "unknown"]
    assert df["messages"][0].to_list() == [{"role": "user", "text": "text a"}]
    # layout and schema of the committed files
    parts = sorted(p.relative_to(store.root).as_posix() for p in (store.root / "requests").rglob("*.parquet"))
    assert parts == sorted(f.path for f in store.data_files())
    assert all(p.startswith("requests/event_date=") and f"part-{result.run_id}-" in p for p in parts)
    schema = pq.read_schema(store.root / parts[0])
    assert schema.equals(CANONICAL_SCHEMA, check_metadata=False)
    assert pq.ParquetFile(store.root / parts[0]).metadata.row_group(0).column(0).compression == "ZSTD"
    q = store.quarantine_frame()
    assert q.height == 2 and set(q["run_id"]) == {result.run_id}
    assert q.columns == QUARANTINE_SCHEMA.names
    (m,) = store.manifest()
    assert (m.path, m.format, m.read, m.stored, m.duplicate, m.run_id) == (
        "in.jsonl",
        "fmt_a",
        6,
        4,
        0,
        result.run_id,
    )
    assert m.time.endswith("Z")
    (run,) = store.runs()
    assert (run.run_id, run.stored, run.quarantined, run.files) == (result.run_id, 4, 2, 1)
    stats = store.stats()
    assert (stats.rows, stats.accounts, stats.rows_without_time, stats.runs, stats.quarantined) == (
        4,
        2,
        1,
        1,
        2,
    )
    assert stats.formats == {"fmt_a": 4}
    assert stats.first_event == datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert stats.last_event == datetime(2025, 1, 2, 12, 0, tzinfo=UTC)
    assert not any((store.root / "_txn").iterdir())
    manifest = json.loads((store.root / "manifest.json").read_text())
    assert manifest["format"] == "extractscan-store" and manifest["version"] == 1


def test_scan_filters_and_columns(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    commit(store, rows(["a"], day=1), rows(["b"], day=2), rows(["c"], day=3), rows(["x"], day=None))
    assert store.scan(since="2025-01-02").collect()["record_id"].sort().to_list() == ["b", "c"]
    assert store.scan(until=date(2025, 1, 2)).collect()["record_id"].sort().to_list() == ["a", "b"]
    assert store.scan(until=datetime(2025, 1, 2, tzinfo=UTC)).collect()["record_id"].to_list() == ["a"]
    got = store.scan(columns=["record_id", PARTITION_COLUMN], since=date(2025, 1, 3)).collect()
    assert got.columns == ["record_id", PARTITION_COLUMN] and got.rows() == [("c", "2025-01-03")]


def test_dedupe_within_run_and_against_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    r1 = commit(store, rows(["a", "b", "a"]), rows(["b", "c"], fmt="fmt_b", file="other.jsonl"))
    assert r1.stored == {"fmt_a": 2, "fmt_b": 1} and r1.duplicate == {"fmt_a": 1, "fmt_b": 1}
    assert r1.duplicate_by_file == {"in.jsonl": 1, "other.jsonl": 1}
    # the first occurrence is kept
    df = store.scan().collect()
    assert df.filter(pl.col("record_id") == "b")["source_format"].to_list() == ["fmt_a"]
    r2 = commit(store, rows(["a", "c", "d"]))
    assert r2.stored == {"fmt_a": 1} and r2.duplicate == {"fmt_a": 2}
    assert store.scan().collect()["record_id"].sort().to_list() == ["a", "b", "c", "d"]
    # dedupe is per event_date partition: the same id on another day is another request
    commit(store, rows(["a"], day=5))
    assert store.scan().collect().height == 5
    m = store.manifest()
    assert [(e.stored, e.duplicate) for e in m] == [(2, 1), (1, 2), (1, 0)]


def test_all_duplicates_write_no_part_file(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    commit(store, rows(["a"]))
    r = commit(store, rows(["a"]))
    assert r.data_files == () and len(store.data_files()) == 1


def test_abort_on_exception_leaves_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    commit(store, rows(["a"]))
    before = snapshot(store.root)
    with pytest.raises(RuntimeError), store.begin_run() as run:
        run.write_rows(rows(["b"]))
        run.quarantine([{"kind": "error", "reason": "x"}])
        raise RuntimeError("interrupted")
    assert snapshot(store.root) == before
    assert not any((store.root / "_txn").iterdir())
    with store.begin_run() as run:  # leaving without commit also aborts
        run.write_rows(rows(["c"]))
    assert snapshot(store.root) == before


STEPS_BEFORE = ["staged", "prepared"]
STEPS_AFTER = ["commit_json", "move:1", "move:2", "moves", "manifest"]


@pytest.mark.parametrize("step", STEPS_BEFORE + STEPS_AFTER)
def test_kill_at_every_commit_step(tmp_path: Path, step: str) -> None:
    root = tmp_path / "s"
    store = Store(root)
    commit(store, rows(["a", "b"]))
    before = snapshot(root)
    with pytest.raises(SimulatedCrash):
        commit(store, rows(["b", "c"], day=1), rows(["d"], day=2), quarantine=1, _fail_after=step)
    assert any((root / "_txn").iterdir())  # as a kill leaves it
    if step in STEPS_BEFORE:
        assert snapshot(root) == before  # nothing visible (readers use the manifest)
    # before recovery, readers see exactly the committed runs of the manifest
    manifest = json.loads((root / "manifest.json").read_text())
    assert len(manifest["runs"]) == (2 if step == "manifest" else 1)
    reopened = Store(root)  # recovery
    assert not any((root / "_txn").iterdir())
    ids = sorted(reopened.scan().collect()["record_id"].to_list())
    if step in STEPS_BEFORE:
        assert snapshot(root) == before
        assert ids == ["a", "b"]
        assert len(reopened.runs()) == 1
    else:
        assert ids == ["a", "b", "c", "d"]
        assert len(reopened.runs()) == 2
        assert reopened.quarantine_frame().height == 1
        files = {p.relative_to(root).as_posix() for p in (root / "requests").rglob("*.parquet")}
        assert files == {f.path for f in reopened.data_files()}
    # and the store keeps working
    commit(reopened, rows(["e"]))
    assert reopened.scan().collect().height == len(ids) + 1


def test_kill_while_staging_is_rolled_back(tmp_path: Path) -> None:
    root = tmp_path / "s"
    store = Store(root)
    run = store.begin_run()
    run.write_rows(rows(["a"]))
    store._release()  # the process dies: the OS drops the lock, the staging stays
    assert any((root / "_txn").iterdir())
    reopened = Store(root)
    assert not any((root / "_txn").iterdir())
    assert reopened.scan().collect().height == 0


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    root = tmp_path / "s"
    store = Store(root)
    with store.begin_run() as run:
        run.write_rows(rows(["a"]))
        other = Store(root)  # opening while a run is staged must not "recover" (delete) it
        assert any((root / "_txn").iterdir())
        with pytest.raises(StoreLocked):
            other.begin_run()
        run.commit()
    assert Store(root).scan().collect().height == 1


def test_not_a_store(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text("x")
    with pytest.raises(StoreError, match="not an extractscan store"):
        Store(tmp_path / "logs")
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError):
        Store(tmp_path / "file")


def test_write_rows_conforms_tables(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    t = pa.table({"source_format": ["f"], "record_id": ["r1"], "account_id": ["a"]})
    with store.begin_run() as run:
        run.write_rows(t)
        run.commit()
    df = store.scan().collect()
    assert df["record_id"].to_list() == ["r1"] and df[PARTITION_COLUMN].to_list() == ["unknown"]
    with store.begin_run() as run, pytest.raises(ValueError, match="record_id"):
        run.write_rows(pa.table({"source_format": ["f"]}))


def test_cache_dir(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    d = store.cache_dir("embeddings")
    assert d == store.root / "cache" / "embeddings" and d.is_dir()
    for bad in ("", "..", "a/b"):
        with pytest.raises(ValueError):
            store.cache_dir(bad)


def test_run_is_single_use(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    with store.begin_run() as run:
        run.commit()
        with pytest.raises(StoreError):
            run.write_rows(rows(["a"]))

"""The scan splits the store into per-partition files once; each partition reads back exactly the rows,
columns, dtypes and order that reading the store per partition gives (the path it replaces)."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from extractscan import api
from extractscan import scan as scan_mod
from extractscan.config import Config
from extractscan.prepare import build_frame, load_requests, split_requests
from extractscan.scan import scan_frame_source
from extractscan.store import Store

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs"


def _no_embed(**kw: object) -> Config:
    cfg = Config(**kw)  # type: ignore[arg-type]
    return cfg.replace(embed=dataclasses.replace(cfg.embed, enabled=False))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("partitions")
    api.ingest([SAMPLE], out / "store", _no_embed())
    return out / "store"


@pytest.fixture(scope="module")
def window(store: Path) -> tuple[float, float]:
    """A window that cuts through the log: some requests of most accounts fall outside it."""
    ts = pl.col("event_time").dt.epoch("us").cast(pl.Float64) / 1e6
    q = Store(store).scan().select(ts.quantile(0.3).alias("lo"), ts.quantile(0.8).alias("hi")).collect()
    return q.item(0, "lo"), q.item(0, "hi")


def _assert_split_matches(lf: pl.LazyFrame, tmp: Path, n: int, batch_rows: int = 1000, **kw: object) -> int:
    # Small batches: the split reads the 5.9k-request store in several steps, as it reads a large log.
    split = split_requests(lf, n_partitions=n, work_dir=tmp, batch_rows=batch_rows, **kw)  # type: ignore[arg-type]
    assert split is not None
    rows = 0
    try:
        for p in range(n):
            expected = load_requests(lf, partition=p, n_partitions=n, **kw)  # type: ignore[arg-type]
            got = split.load(p)
            assert_frame_equal(got, expected)  # same rows in the same order, same columns and dtypes
            rows += got.height
    finally:
        split.cleanup()
    assert not split.root.exists()
    return rows


# 150 partitions > 78 accounts: some partitions are empty; one batch of 100k rows holds the whole store
@pytest.mark.parametrize(("n", "batch_rows"), [(2, 1000), (7, 777), (150, 1000), (13, 100_000)])
def test_split_equals_per_partition_reads(store: Path, tmp_path: Path, n: int, batch_rows: int) -> None:
    lf = Store(store).scan()
    rows = _assert_split_matches(lf, tmp_path, n, batch_rows)
    assert rows == lf.select(pl.len()).collect().item()  # every request lands in exactly one partition


def test_split_applies_the_window_and_entity(store: Path, tmp_path: Path, window: tuple[float, float]) -> None:
    lf = Store(store).scan()
    since, until = window
    inside = _assert_split_matches(lf, tmp_path, 5, since=since, until=until)
    assert 0 < inside < lf.select(pl.len()).collect().item()
    assert _assert_split_matches(lf, tmp_path, 4, entity="api_key", until=until) > 0


def test_rows_without_entity_or_time(store: Path, tmp_path: Path, window: tuple[float, float]) -> None:
    """Rows without the entity are left out; rows without a time stay unless a window is given."""
    df = Store(store).scan().collect()
    idx = pl.int_range(pl.len())
    df = df.with_columns(
        pl.when(idx % 5 == 0).then(None).otherwise(pl.col("account_id")).alias("account_id"),
        pl.when(idx % 7 == 0).then(None).otherwise(pl.col("event_time")).alias("event_time"),
    )
    lf = df.lazy()
    assert _assert_split_matches(lf, tmp_path, 6) == df.filter(pl.col("account_id").is_not_null()).height
    _assert_split_matches(lf, tmp_path, 6, since=window[0])


def test_built_frames_are_identical(store: Path, tmp_path: Path) -> None:
    lf = Store(store).scan()
    cfg = _no_embed()
    split = split_requests(lf, n_partitions=3, work_dir=tmp_path, batch_rows=2000)
    assert split is not None
    try:
        for p in range(3):
            a, a_stats = build_frame(load_requests(lf, partition=p, n_partitions=3), cfg)
            b, b_stats = build_frame(split.load(p), cfg)
            assert_frame_equal(a, b)
            assert (a_stats.rows, a_stats.lsh_candidates, a_stats.lsh_confirmed) == (
                b_stats.rows,
                b_stats.lsh_candidates,
                b_stats.lsh_confirmed,
            )
    finally:
        split.cleanup()


def test_partitions_read_only_their_own_files(store: Path, tmp_path: Path) -> None:
    """After the split, the source is not read again: the partitions load with the store gone."""
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    lf = Store(copy).scan()
    expected = [load_requests(lf, partition=p, n_partitions=4) for p in range(4)]
    split = split_requests(lf, n_partitions=4, work_dir=tmp_path / "work", batch_rows=1500)
    assert split is not None
    shutil.rmtree(copy)
    try:
        for p in range(4):
            assert_frame_equal(split.load(p), expected[p])
    finally:
        split.cleanup()


def test_unwritable_work_dir_falls_back(store: Path, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    assert split_requests(Store(store).scan(), n_partitions=3, work_dir=not_a_dir) is None


def _report(result: object) -> dict[str, object]:
    d = result.to_dict()  # type: ignore[attr-defined]
    return {k: d[k] for k in ("accounts", "campaigns", "window")} | {
        "stats": {k: v for k, v in d["stats"].items() if k != "stage_seconds"}
    }


class _Spy:
    """Wraps split_requests: records each call and makes its passes small, as on a large log."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, lf: pl.LazyFrame, **kw: object) -> object:
        self.calls.append(int(kw["n_partitions"]))  # type: ignore[call-overload]
        return split_requests(lf, **kw, batch_rows=800)  # type: ignore[arg-type]


def test_scan_results_identical_with_and_without_split(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spy = _Spy()
    monkeypatch.setattr(scan_mod, "split_requests", spy)
    cfg = _no_embed(partition_rows=300)  # 20 partitions of the 5.9k requests
    work = tmp_path / "work"
    work.mkdir()
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    split_result = scan_frame_source(Store(store).scan(), cfg, work_dir=work)
    assert spy.calls == [20]
    direct_result = scan_frame_source(Store(store).scan(), cfg, work_dir=not_a_dir)  # falls back: per-partition reads
    assert spy.calls == [20, 20]
    few = scan_frame_source(Store(store).scan(), _no_embed(partition_rows=1000), work_dir=work)
    assert few.stats.partitions == 6 and spy.calls == [20, 20]  # below SPLIT_MIN_PARTITIONS: no split
    assert split_result.stats.partitions == 20
    assert _report(split_result) == _report(direct_result)
    assert split_result.accounts and any(a.flagged for a in split_result.accounts)
    assert os.listdir(work) == []  # the split folder is gone


def test_split_folder_removed_on_error(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def boom(requests: pl.DataFrame, cfg: Config) -> object:
        seen.append(requests.height)
        assert os.listdir(tmp_path)  # the split is in place while partitions are read
        raise RuntimeError("partition failed")

    monkeypatch.setattr(scan_mod, "build_frame", boom)
    with pytest.raises(RuntimeError, match="partition failed"):
        scan_frame_source(Store(store).scan(), _no_embed(partition_rows=300), work_dir=tmp_path)
    assert seen and os.listdir(tmp_path) == []

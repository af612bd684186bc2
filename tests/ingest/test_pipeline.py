"""ingest_paths: reader choice, accounting, batching, dedupe, idempotence, kills."""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractscan.config import Config, FieldMapping, IngestConfig
from extractscan.ingest import registry
from extractscan.ingest.pipeline import ProgressEvent, UnknownFormatError, ingest_paths
from extractscan.models import IngestReport
from extractscan.store import Run, Store

# A test-only reader: {"ts", "acct", "prompt", "id"?} objects. Defined as source so that the killed
# subprocess below can use the very same reader.
TOY_READER_SRC = textwrap.dedent(
    """
    from extractscan.ingest.base import Reader, Rejected, as_str, parse_time

    class ToyReader(Reader):
        name = "toy"
        summary = "test records"

        def sniff(self, obj):
            return "acct" in obj and "prompt" in obj

        def parse(self, obj, ref):
            if not isinstance(obj, dict):
                yield Rejected("wrong_type", "record is not an object")
                return
            p = obj.get("prompt")
            if p == "skip":
                yield Rejected("not_a_model_call", "health check", kind="skipped")
                return
            if p == "boom":
                raise RuntimeError("reader bug")
            if p == "nothing":
                return
            if p == "badtype":
                yield {"account_id": "x", "n_requested": "not an int"}
                return
            prompts = p if isinstance(p, list) else [p]
            for q in prompts:
                if not isinstance(q, str):
                    yield Rejected("wrong_type", "prompt is not a string")
                    continue
                row = {
                    "event_time": parse_time(obj.get("ts")),
                    "account_id": as_str(obj.get("acct")),
                    "messages": [{"role": "user", "text": q}],
                }
                if obj.get("id") is not None:
                    row["request_id"] = as_str(obj.get("id"))
                yield row
    """
)
_ns: dict[str, Any] = {}
exec(TOY_READER_SRC, _ns)
ToyReader = _ns["ToyReader"]


@pytest.fixture(autouse=True)
def toy_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "readers", lambda: {"toy": ToyReader()})


def rec(i: int, acct: str = "a", prompt: Any = None, day: int = 1, with_id: bool = True) -> dict[str, Any]:
    r: dict[str, Any] = {
        "ts": f"2025-03-{day:02d}T10:00:{i % 60:02d}Z",
        "acct": acct,
        "prompt": f"prompt {i}" if prompt is None else prompt,
    }
    if with_id:
        r["id"] = f"req-{i}"
    return r


def jsonl(rows: list[Any]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in rows)


def cfg(**kw: Any) -> Config:
    return Config(ingest=IngestConfig(**kw))


def assert_balanced(report: IngestReport) -> None:
    for f in (*report.formats, report.totals):
        assert f.read == f.stored + f.duplicate + f.quarantined, f
        assert f.skipped <= f.quarantined
    for fr in report.files:
        assert fr.read == fr.stored + fr.duplicate + fr.quarantined, fr
    assert sum(f.read for f in report.formats) == report.totals.read
    assert sum(r.count for r in report.quarantine_reasons) == report.totals.quarantined


def store_rows(store: Store) -> pl.DataFrame:
    return store.scan().collect()


# --------------------------------------------------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    rows = [rec(i, acct=f"acct-{i % 3}", day=1 + i % 2) for i in range(10)]
    (tmp_path / "logs.jsonl").write_bytes(jsonl(rows))
    store = Store(tmp_path / "store")
    report = ingest_paths([tmp_path / "logs.jsonl"], store, cfg())
    assert_balanced(report)
    assert report.totals.stored == 10 and report.totals.quarantined == 0
    assert [f.format for f in report.formats] == ["toy"]
    df = store_rows(store).sort("source_offset")
    assert df["record_id"].to_list() == [f"toy:req-{i}" for i in range(10)]
    assert df["account_id"].to_list() == [r["acct"] for r in rows]
    assert df["last_user_text"].to_list() == [r["prompt"] for r in rows]
    assert df["source_offset"].to_list() == list(range(1, 11))
    assert set(df["source_file"]) == {str(tmp_path / "logs.jsonl")}
    assert [t.isoformat().replace("+00:00", "Z") for t in df["event_time"]] == [r["ts"] for r in rows]
    assert sorted(set(df["event_date"])) == ["2025-03-01", "2025-03-02"]
    (entry,) = store.manifest()
    assert (entry.format, entry.read, entry.stored, entry.run_id) == ("toy", 10, 10, report.run_id)


def test_hostile_input_is_accounted_for(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    good = [rec(i) for i in range(5)]
    lines = jsonl(good[:2]) + b'{"acct": "a", "prompt": "\xff\xfe"}\n'  # invalid UTF-8
    lines += b'{"acct": "a", "prompt": "nul \x00"}\n'  # NUL byte
    lines += b'{"acct": "a", "prompt": "trunc\n'  # truncated JSON line
    lines += jsonl(
        [
            rec(90, prompt=5),
            rec(91, prompt="skip"),
            rec(92, prompt="boom"),
            rec(93, prompt="nothing"),
            rec(94, prompt="badtype"),
            [1, 2],
        ]
    )
    lines += jsonl(good[2:])
    (logs / "mixed.jsonl").write_bytes(lines)
    (logs / "empty.jsonl").write_bytes(b"")
    (logs / "other.jsonl").write_bytes(b'{"foo": 1}\n{"foo": 2}\nnot json\n')
    full = gzip.compress(jsonl([rec(100 + i, with_id=False) for i in range(400)]))
    (logs / "cut.jsonl.gz").write_bytes(full[: len(full) // 2])
    store = Store(tmp_path / "store")
    report = ingest_paths([logs], store, cfg())
    assert_balanced(report)
    reasons = {r.reason: r.count for r in report.quarantine_reasons}
    assert reasons["invalid_utf8"] == 1
    assert reasons["nul_byte"] == 1
    assert reasons["invalid_json"] == 2
    assert reasons["wrong_type"] == 2
    assert reasons["not_a_model_call"] == 1
    assert reasons["reader_error"] == 1
    assert reasons["no_rows"] == 1
    assert reasons["schema_error"] == 1
    assert reasons["unknown_format"] == 2
    assert reasons["truncated_compressed_stream"] == 1
    toy = next(f for f in report.formats if f.format == "toy")
    assert toy.skipped == 1
    by_name = {Path(f.path).name: f for f in report.files}
    assert by_name["empty.jsonl"].status == "empty"
    assert [p.code for p in by_name["empty.jsonl"].problems] == ["empty_file"]
    assert [p.code for p in by_name["other.jsonl"].problems] == ["unknown_format"]
    assert "foo" in by_name["other.jsonl"].problems[0].message
    assert [p.code for p in by_name["cut.jsonl.gz"].problems] == ["truncated_compressed_stream"]
    assert by_name["mixed.jsonl"].stored == 5
    # the quarantine holds exactly the quarantined items, with excerpts and offsets
    q = store.quarantine_frame()
    assert q.height == report.totals.quarantined
    row = q.filter(pl.col("reason") == "invalid_utf8").row(0, named=True)
    assert row["source_offset"] == 3 and row["excerpt"].startswith('{"acct": "a", "prompt": "\ufffd')
    assert row["run_id"] == report.run_id
    assert store_rows(store).height == report.totals.stored


def test_megabyte_prompt_is_stored_capped(tmp_path: Path) -> None:
    big = "word " * 250_000  # 1.25 MB
    (tmp_path / "big.jsonl").write_bytes(jsonl([rec(1, prompt=big), rec(2)]))
    store = Store(tmp_path / "store")
    report = ingest_paths([tmp_path / "big.jsonl"], store, cfg(max_prompt_chars=10_000))
    assert report.totals.stored == 2
    df = store_rows(store).sort("source_offset")
    first = df.row(0, named=True)
    assert first["body_status"] == "truncated"
    assert first["prompt_chars"] == len(big)
    assert len(first["last_user_text"]) == 10_000
    assert len(first["messages"][0]["text"]) == 10_000
    assert df.row(1, named=True)["body_status"] == "inline"


def test_idempotence_whole_file_and_by_record_id(tmp_path: Path) -> None:
    rows = [rec(i) for i in range(20)] + [rec(i, with_id=False) for i in range(20, 25)]
    src = tmp_path / "in" / "a.jsonl"
    src.parent.mkdir()
    src.write_bytes(jsonl(rows))
    store = Store(tmp_path / "store")
    first = ingest_paths([src], store, cfg())
    assert first.totals.stored == 25
    # the same file again: skipped as a whole-file duplicate
    second = ingest_paths([src], store, cfg())
    assert_balanced(second)
    assert (second.totals.read, second.totals.stored, second.totals.duplicate) == (25, 0, 25)
    assert second.files[0].status == "duplicate_file"
    # the same records in a renamed, recompressed copy: different bytes, same record ids
    copy = tmp_path / "in" / "renamed.log.gz"
    copy.write_bytes(gzip.compress(src.read_bytes()))
    third = ingest_paths([copy], store, cfg())
    assert_balanced(third)
    assert (third.totals.read, third.totals.stored, third.totals.duplicate) == (25, 0, 25)
    assert third.files[0].status == "ingested"
    df = store_rows(store)
    assert df.height == 25 and df["record_id"].n_unique() == 25
    assert [len(r.formats) for r in store.runs()] == [1, 0, 1]
    # a file that grew: only the new records are stored
    src.write_bytes(jsonl([*rows, rec(99)]))
    fourth = ingest_paths([src], store, cfg())
    assert (fourth.totals.stored, fourth.totals.duplicate) == (1, 25)


def test_dedupe_within_a_run(tmp_path: Path) -> None:
    rows = [rec(1), rec(2), rec(1), rec(3), rec(2)]
    # identical lines without ids are distinct records (occurrence numbers), not duplicates
    same = rec(7, with_id=False)
    (tmp_path / "a.jsonl").write_bytes(jsonl([*rows, same, same]))
    (tmp_path / "b.jsonl").write_bytes(jsonl([rec(3), rec(4)]))
    store = Store(tmp_path / "store")
    report = ingest_paths([tmp_path], store, cfg(batch_rows=2))
    assert_balanced(report)
    assert (report.totals.stored, report.totals.duplicate) == (6, 3)
    df = store_rows(store)
    ids = df["record_id"].to_list()
    assert sorted(i for i in ids if i.startswith("toy:")) == [
        "toy:req-1",
        "toy:req-2",
        "toy:req-3",
        "toy:req-4",
    ]
    assert len([i for i in ids if i.startswith("sha256:")]) == 2
    # the first occurrence is kept
    assert df.filter(pl.col("record_id") == "toy:req-3")["source_file"].to_list() == [str(tmp_path / "a.jsonl")]
    files = {Path(f.path).name: f for f in report.files}
    assert (files["a.jsonl"].stored, files["a.jsonl"].duplicate) == (5, 2)
    assert (files["b.jsonl"].stored, files["b.jsonl"].duplicate) == (1, 1)


def test_multi_row_records_get_distinct_ids(tmp_path: Path) -> None:
    (tmp_path / "m.jsonl").write_bytes(jsonl([{"acct": "a", "prompt": ["one", "two", "three"]}]))
    store = Store(tmp_path / "store")
    report = ingest_paths([tmp_path / "m.jsonl"], store, cfg())
    assert (report.totals.records, report.totals.read, report.totals.stored) == (1, 3, 3)
    assert store_rows(store)["record_id"].n_unique() == 3


def test_default_account(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(jsonl([rec(1, acct=""), rec(2, acct="own")]))
    store = Store(tmp_path / "store")
    ingest_paths([tmp_path / "a.jsonl"], store, cfg(default_account_id="team-x"))
    assert sorted(store_rows(store)["account_id"].to_list()) == ["own", "team-x"]


def test_forced_and_unknown_format(tmp_path: Path) -> None:
    (tmp_path / "odd.jsonl").write_bytes(b'{"acct2": "a"}\n{"acct": "b", "prompt": "p"}\n')
    store = Store(tmp_path / "store")
    with pytest.raises(UnknownFormatError):
        ingest_paths([tmp_path / "odd.jsonl"], store, cfg(), fmt="nope")
    with pytest.raises(UnknownFormatError):
        ingest_paths([tmp_path / "odd.jsonl"], store, cfg(), fmt="generic:nope")
    assert store.runs() == []
    report = ingest_paths([tmp_path / "odd.jsonl"], store, cfg(), fmt="toy")
    assert_balanced(report)
    assert report.files[0].format == "toy"
    with pytest.raises(FileNotFoundError):
        ingest_paths([tmp_path / "missing.jsonl"], store, cfg())


def test_unknown_format_then_forced_is_not_a_whole_file_duplicate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "x.jsonl").write_bytes(jsonl([rec(1), rec(2)]))
    store = Store(tmp_path / "store")
    monkeypatch.setattr(registry, "readers", lambda: {})
    first = ingest_paths([tmp_path / "x.jsonl"], store, cfg())
    assert first.totals.quarantined == 2 and first.formats[0].format == "unknown"
    monkeypatch.setattr(registry, "readers", lambda: {"toy": ToyReader()})
    second = ingest_paths([tmp_path / "x.jsonl"], store, cfg())
    assert second.totals.stored == 2


def test_mapping_glob_selects_a_generic_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from extractscan.ingest import pipeline

    toy = ToyReader()
    monkeypatch.setattr(pipeline, "_generic_readers", lambda c: {"generic:proxy": toy})
    monkeypatch.setattr(registry, "readers", lambda: {})
    (tmp_path / "proxy-1.jsonl").write_bytes(jsonl([rec(1)]))
    config = cfg(mappings={"proxy": FieldMapping(columns={}, match="proxy-*.jsonl")})
    report = ingest_paths([tmp_path / "proxy-1.jsonl"], Store(tmp_path / "store"), config)
    assert report.totals.stored == 1
    report = ingest_paths([tmp_path / "proxy-1.jsonl"], Store(tmp_path / "s2"), cfg(), fmt="generic:proxy")
    assert report.totals.stored == 1


def test_batches_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []
    original = Run.write_rows

    def spy(self: Run, table: pa.Table) -> None:
        sizes.append(table.num_rows)
        original(self, table)

    monkeypatch.setattr(Run, "write_rows", spy)
    (tmp_path / "a.jsonl").write_bytes(jsonl([rec(i, day=1 + i % 3) for i in range(53)]))
    (tmp_path / "b.jsonl").write_bytes(jsonl([rec(100 + i) for i in range(11)]))
    report = ingest_paths([tmp_path], Store(tmp_path / "store"), cfg(batch_rows=7))
    assert report.totals.stored == 64
    assert sum(sizes) == 64
    assert max(sizes) <= 7
    assert len(sizes) >= 64 // 7


def test_progress_callback_and_rich(tmp_path: Path) -> None:
    from rich.console import Console
    from rich.progress import Progress

    (tmp_path / "a.jsonl").write_bytes(jsonl([rec(i) for i in range(5)]))
    (tmp_path / "b.jsonl").write_bytes(jsonl([rec(i + 5) for i in range(5)]))
    events: list[ProgressEvent] = []
    ingest_paths([tmp_path], Store(tmp_path / "s1"), cfg(), progress=events.append)
    files = [e for e in events if e.phase == "file"]
    assert [e.files_done for e in files] == [1, 2]
    assert files[-1].bytes_done == files[-1].bytes_total > 0
    assert events[-1].phase == "done"
    with Progress(console=Console(file=open(os.devnull, "w"))) as progress:
        ingest_paths([tmp_path], Store(tmp_path / "s2"), cfg(), progress=progress)
        assert all(t.completed == t.total for t in progress.tasks)


def test_ingest_skips_its_own_store(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(jsonl([rec(1)]))
    ingest_paths([tmp_path], tmp_path / "store", cfg())
    report = ingest_paths([tmp_path], tmp_path / "store", cfg())
    assert [Path(f.path).name for f in report.files] == ["a.jsonl"]


# --------------------------------------------------------------------------------------------------
# Real readers (written alongside): the envelope format and every format fixture


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"


@pytest.fixture
def real_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    registry.readers.cache_clear() if hasattr(registry.readers, "cache_clear") else None
    registry.get_reader("envelope")  # the shipped reader: a KeyError here is a registration bug


def test_envelope_format_end_to_end(tmp_path: Path, real_registry: None) -> None:
    src = FIXTURES / "envelope.jsonl"
    assert src.is_file(), "the envelope fixture ships with the tests"
    store = Store(tmp_path / "store")
    report = ingest_paths([src], store, cfg())
    assert_balanced(report)
    assert report.files[0].format == "envelope"
    assert report.totals.stored > 0
    df = store_rows(store)
    assert set(df["source_format"]) == {"envelope"}
    again = ingest_paths([src], store, cfg())
    assert again.totals.stored == 0 and again.totals.duplicate == report.totals.read


def test_every_fixture_is_accounted_for(tmp_path: Path, real_registry: None) -> None:
    assert FIXTURES.is_dir(), "the format fixtures ship with the tests"
    store = Store(tmp_path / "store")
    report = ingest_paths([FIXTURES], store, cfg())
    assert_balanced(report)
    assert report.totals.stored > 0
    assert store_rows(store).height == report.totals.stored
    assert store.quarantine_frame().height == report.totals.quarantined


# --------------------------------------------------------------------------------------------------
# A real kill


KILL_SCRIPT = TOY_READER_SRC + textwrap.dedent(
    """
    import sys, time
    from extractscan import store as store_mod
    from extractscan.config import Config, IngestConfig
    from extractscan.ingest import registry
    from extractscan.ingest.pipeline import ingest_paths

    registry.readers = lambda: {"toy": ToyReader()}
    src, root, stop_at, marker = sys.argv[1:5]

    def hook(step):
        if step == stop_at:
            with open(marker, "w") as f:
                f.write(step)
            time.sleep(300)

    store_mod._fault_hook = hook
    ingest_paths([src], root, Config(ingest=IngestConfig(batch_rows=50)))
    """
)


@pytest.mark.parametrize(
    ("stop_at", "committed"),
    [("batch:3", False), ("prepared", False), ("commit_json", True), ("move:1", True)],
)
def test_sigkill_mid_ingest(tmp_path: Path, stop_at: str, committed: bool) -> None:
    n = 300
    src = tmp_path / "logs.jsonl"
    src.write_bytes(jsonl([rec(i, day=1 + i % 4) for i in range(n)]))
    root = tmp_path / "store"
    Store(root)  # an empty store: "before" is no rows
    script = tmp_path / "kill_me.py"
    script.write_text(KILL_SCRIPT)
    marker = tmp_path / "marker"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(src), str(root), stop_at, str(marker)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(f"ingest ended before {stop_at}: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                pytest.fail(f"ingest never reached {stop_at}")
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert (root / "_txn").exists() and any((root / "_txn").iterdir())  # the kill left a transaction
    store = Store(root)  # recovery: roll forward or roll back
    assert not any((root / "_txn").iterdir())
    rows = store_rows(store).height
    assert rows == (n if committed else 0)
    assert len(store.runs()) == (1 if committed else 0)
    # the next ingest completes it
    report = ingest_paths([src], store, cfg())
    assert_balanced(report)
    df = store_rows(store)
    assert df.height == n and df["record_id"].n_unique() == n
    assert report.totals.stored == (0 if committed else n)


# --------------------------------------------------------------------------------------------------
# Property: arbitrary files never break ingest and every item is accounted for

FRAGMENTS = [
    jsonl([rec(1)]),
    jsonl([rec(2, with_id=False)]),
    jsonl([rec(3, prompt="skip")]),
    jsonl([rec(4, prompt="boom")]),
    jsonl([rec(5, prompt=["x", "y"])]),
    jsonl([rec(6, prompt=7)]),
    b'{"acct": "a", "prompt": "\xff"}\n',
    b"\x00\x01\n",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b"\n",
    b'"',
    b"garbage\n",
    b'{"foo": 1}\n',
    b"a,b\n1,2\n",
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    files=st.lists(
        st.tuples(
            st.one_of(st.binary(max_size=200), st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(b"".join)),
            st.sampled_from(["plain", "gz", "gz-cut"]),
        ),
        min_size=1,
        max_size=3,
    ),
    batch_rows=st.sampled_from([1, 3, 1000]),
)
def test_arbitrary_files_are_accounted_for(files: list[tuple[bytes, str]], batch_rows: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for i, (data, how) in enumerate(files):
            raw = gzip.compress(data) if how.startswith("gz") else data
            if how.endswith("cut"):
                raw = raw[: max(1, len(raw) // 2)]
            (tmp / "in").mkdir(exist_ok=True)
            (tmp / "in" / f"f{i}").write_bytes(raw)
        store = Store(tmp / "store")
        report = ingest_paths([tmp / "in"], store, cfg(batch_rows=batch_rows, max_record_bytes=150))
        assert_balanced(report)
        assert store_rows(store).height == report.totals.stored
        assert store.quarantine_frame().height == report.totals.quarantined
        assert store.scan().select("record_id").collect()["record_id"].n_unique() == report.totals.stored
        shutil.rmtree(tmp / "store")

"""Containers: compression and encodings detected by content; bad bytes become error records, never raise."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractscan.ingest import containers
from extractscan.ingest.containers import (
    CORRUPT_COMPRESSED_STREAM,
    INVALID_CSV,
    INVALID_JSON,
    INVALID_PARQUET,
    INVALID_UTF8,
    NUL_BYTE,
    RECORD_TOO_LARGE,
    TRUNCATED_COMPRESSED_STREAM,
    TRUNCATED_JSON,
    RawRecord,
    expand_paths,
    iter_records,
    open_records,
)

ROWS: list[dict[str, Any]] = [
    {"ts": "2025-01-01T00:00:00Z", "acct": "a", "prompt": "hello"},
    {"ts": "2025-01-01T00:00:01Z", "acct": "b", "prompt": 'braces } { ] [ and "quotes" \\ in text'},
    {"ts": "2025-01-02T00:00:00Z", "acct": "a", "prompt": "nested", "meta": {"x": [{"y": {}}, []]}},
]


def compress(data: bytes, how: str) -> bytes:
    if how == "gz":
        return gzip.compress(data)
    if how == "zst":
        return zstandard.ZstdCompressor().compress(data)
    return data


def write(tmp_path: Path, name: str, data: bytes, how: str = "plain") -> Path:
    p = tmp_path / name
    p.write_bytes(compress(data, how))
    return p


def records(path: Path, **kw: Any) -> list[RawRecord]:
    return list(iter_records(path, **kw))


def values(path: Path, **kw: Any) -> list[Any]:
    out = []
    for r in records(path, **kw):
        assert r.ok, (r.error, r.message, r.excerpt)
        out.append(r.value)
    return out


def jsonl(rows: list[Any]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in rows)


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode()


# --------------------------------------------------------------------------------------------------
# Every container under every compression


@pytest.mark.parametrize("how", ["plain", "gz", "zst"])
@pytest.mark.parametrize(
    ("container", "data", "expected"),
    [
        ("jsonl", jsonl(ROWS), ROWS),
        ("json", orjson.dumps(ROWS), ROWS),
        ("json", orjson.dumps(ROWS, option=orjson.OPT_INDENT_2), ROWS),
        ("json", orjson.dumps(ROWS[0], option=orjson.OPT_INDENT_2), ROWS[:1]),  # single object
        ("json", b"".join(orjson.dumps(r) for r in ROWS), ROWS),  # Firehose: no separators
        (
            "csv",
            csv_bytes([{"a": "1", "b": "x,y"}, {"a": "2", "b": "line\nbreak"}]),
            [{"a": "1", "b": "x,y"}, {"a": "2", "b": "line\nbreak"}],
        ),
        (
            "parquet",
            parquet_bytes(pa.Table.from_pylist([{"acct": "a", "n": 1}, {"acct": "b", "n": 2}])),
            [{"acct": "a", "n": 1}, {"acct": "b", "n": 2}],
        ),
    ],
    ids=["jsonl", "array", "array-pretty", "object", "concatenated", "csv", "parquet"],
)
def test_containers_and_compressions(tmp_path: Path, how: str, container: str, data: bytes, expected: Any) -> None:
    # the extension says nothing: detection is by magic bytes and content
    path = write(tmp_path, "input.log", data, how)
    with open_records(path) as stream:
        assert stream.compression == {"plain": "none", "gz": "gzip", "zst": "zstd"}[how]
        assert stream.container == container
        recs = list(stream)
    assert [r.value for r in recs] == expected
    assert all(r.ok for r in recs)
    assert [r.offset for r in recs] == list(range(1, len(expected) + 1))


def test_jsonl_offsets_are_line_numbers_and_blank_lines_are_ignored(tmp_path: Path) -> None:
    p = write(tmp_path, "a.jsonl", b'{"a":1}\n\n   \n{"b":2}\r\n\n{"c":3}')
    recs = records(p)
    assert [(r.offset, r.value) for r in recs] == [(1, {"a": 1}), (4, {"b": 2}), (6, {"c": 3})]


def test_bom_is_skipped(tmp_path: Path) -> None:
    assert values(write(tmp_path, "bom.jsonl", b"\xef\xbb\xbf" + jsonl(ROWS))) == ROWS
    assert values(write(tmp_path, "bom.csv", b"\xef\xbb\xbfa,b\n1,2\n")) == [{"a": "1", "b": "2"}]


def test_extension_is_ignored(tmp_path: Path) -> None:
    assert values(write(tmp_path, "really_jsonl.csv", jsonl(ROWS))) == ROWS
    assert values(write(tmp_path, "really_gzip.json", jsonl(ROWS), "gz")) == ROWS


def test_multi_member_gzip_and_multi_frame_zstd(tmp_path: Path) -> None:
    p = tmp_path / "multi.gz"
    p.write_bytes(gzip.compress(jsonl(ROWS[:1])) + gzip.compress(jsonl(ROWS[1:])))
    assert values(p) == ROWS
    c = zstandard.ZstdCompressor()
    p = tmp_path / "multi.zst"
    p.write_bytes(c.compress(jsonl(ROWS[:2])) + c.compress(jsonl(ROWS[2:])))
    assert values(p) == ROWS


# --------------------------------------------------------------------------------------------------
# Hostile content


def test_bad_lines_become_error_records(tmp_path: Path) -> None:
    data = (
        b'{"a": 1}\n'
        b'{"bad": "\xff\xfe"}\n'  # invalid UTF-8
        b'{"nul": "x\x00y"}\n'  # raw NUL byte
        b'{"trunc": "abc\n'  # truncated JSON
        b"not json at all\n"
        b'{"b": 2}\n'
    )
    recs = records(write(tmp_path, "bad.jsonl", data))
    assert [(r.offset, r.error) for r in recs] == [
        (1, None),
        (2, INVALID_UTF8),
        (3, NUL_BYTE),
        (4, INVALID_JSON),
        (5, INVALID_JSON),
        (6, None),
    ]
    bad = recs[1]
    assert bad.raw_bytes_len == len(b'{"bad": "\xff\xfe"}')
    assert bad.excerpt == '{"bad": "\ufffd\ufffd"}'
    assert recs[3].excerpt == '{"trunc": "abc'
    assert recs[5].value == {"b": 2}


def test_excerpt_is_the_first_200_bytes(tmp_path: Path) -> None:
    line = b'{"x": "' + b"a" * 1000
    r, ok = records(write(tmp_path, "long.jsonl", line + b'\n{"ok": 1}\n'))
    assert r.error == INVALID_JSON and ok.value == {"ok": 1}
    assert r.excerpt == line[:200].decode()
    assert r.raw_bytes_len == len(line)


def test_record_too_large(tmp_path: Path) -> None:
    big = orjson.dumps({"p": "x" * 5000})
    recs = records(write(tmp_path, "big.jsonl", b'{"a":1}\n' + big + b'\n{"b":2}\n'), max_record_bytes=1000)
    assert [(r.offset, r.error) for r in recs] == [(1, None), (2, RECORD_TOO_LARGE), (3, None)]
    assert recs[1].raw_bytes_len == len(big)
    assert recs[1].excerpt.startswith('{"p": "xxx') or recs[1].excerpt.startswith('{"p":"xxx')
    # JSON arrays: an oversized element is skipped without buffering it, the next ones still come
    arr = b"[" + b",".join([b'{"a":1}', big, b'{"b":2}', big[:-1] + b"]"]) + b"]"
    recs = records(write(tmp_path, "big.json", arr), max_record_bytes=1000)
    assert [r.error for r in recs] == [None, RECORD_TOO_LARGE, None, RECORD_TOO_LARGE]


def test_json_array_scanner_edge_cases(tmp_path: Path) -> None:
    elements = [
        {"s": '}, {"fake": 1}, ['},
        {"deep": [[[{"a": "]]]}}"}]]]},
        {"esc": 'back\\slash\\", quote'},
        [1, 2, {"x": "y"}],
        "a string",
        12.5,
        None,
        True,
        {},
    ]
    for data in (orjson.dumps(elements), orjson.dumps(elements, option=orjson.OPT_INDENT_2)):
        assert values(write(tmp_path, "edge.json", data)) == elements


def test_json_garbage_and_truncation(tmp_path: Path) -> None:
    recs = records(write(tmp_path, "g.json", b'{"a":1} }}} junk\n{"b":2}{"c":'))
    assert [(r.value if r.ok else r.error) for r in recs] == [
        {"a": 1},
        INVALID_JSON,
        {"b": 2},
        TRUNCATED_JSON,
    ]
    recs = records(write(tmp_path, "t.json", b'[{"a":1}, {"b":2}, {"c": [1, 2'))
    assert [(r.value if r.ok else r.error) for r in recs] == [{"a": 1}, {"b": 2}, TRUNCATED_JSON]
    recs = records(write(tmp_path, "u.json", b'[{"a":1}, {"b":2},'))
    assert [(r.value if r.ok else r.error) for r in recs] == [{"a": 1}, {"b": 2}, TRUNCATED_JSON]
    recs = records(write(tmp_path, "v.json", b'[{"a":1}, {"b":2 "c":3}, {"d":4}]'))
    assert [(r.value if r.ok else r.error) for r in recs] == [{"a": 1}, INVALID_JSON, {"d": 4}]


def test_csv_json_cells_and_a_2mb_cell(tmp_path: Path) -> None:
    huge = "w" * (2 * 1024 * 1024)
    rows = [
        {
            "ts": "2025-01-01",
            "request": orjson.dumps({"messages": [{"role": "user", "content": "hi"}]}).decode(),
        },
        {"ts": "2025-01-02", "request": huge},
    ]
    got = values(write(tmp_path, "export.csv", csv_bytes(rows)))
    assert got == rows
    assert orjson.loads(got[0]["request"])["messages"][0]["content"] == "hi"


def test_csv_bad_rows(tmp_path: Path) -> None:
    data = b"a,b\n1,2\n3,4,5\n\xff,6\n7,\x008\n9\n"
    recs = records(write(tmp_path, "bad.csv", data))
    assert [(r.offset, r.value if r.ok else r.error) for r in recs] == [
        (1, {"a": "1", "b": "2"}),
        (2, INVALID_CSV),
        (3, INVALID_UTF8),
        (4, NUL_BYTE),
        (5, {"a": "9", "b": ""}),
    ]


def test_tab_separated(tmp_path: Path) -> None:
    assert values(write(tmp_path, "x.tsv", b"a\tb\n1\t2\n")) == [{"a": "1", "b": "2"}]


def test_parquet_values_are_json_like(tmp_path: Path) -> None:
    t = pa.table(
        {
            "ts": pa.array([datetime(2025, 1, 1, 12, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
            "naive": pa.array([datetime(2025, 1, 1, 12)], pa.timestamp("ms")),
            "blob": pa.array([b"bytes"], pa.binary()),
            "m": pa.array([[("k", "v")]], pa.map_(pa.string(), pa.string())),
            "s": pa.array([{"x": 1}]),
        }
    )
    (v,) = values(write(tmp_path, "p.parquet", parquet_bytes(t)))
    assert v == {
        "ts": "2025-01-01T12:00:00+00:00",
        "naive": "2025-01-01T12:00:00+00:00",
        "blob": "bytes",
        "m": {"k": "v"},
        "s": {"x": 1},
    }


def test_corrupt_parquet(tmp_path: Path) -> None:
    (r,) = records(write(tmp_path, "bad.parquet", b"PAR1" + b"\x00" * 100))
    assert r.error == INVALID_PARQUET


@pytest.mark.parametrize("how", ["plain", "gz", "zst"])
@pytest.mark.parametrize("data", [b"", b"   \n\n\t "], ids=["empty", "whitespace"])
def test_empty_files_yield_nothing(tmp_path: Path, how: str, data: bytes) -> None:
    p = write(tmp_path, "empty", data, how)
    with open_records(p) as s:
        assert list(s) == []
        assert s.container == "empty"


@pytest.mark.parametrize("how", ["gz", "zst"])
def test_truncated_compressed_stream(tmp_path: Path, how: str) -> None:
    rows = [{"i": i, "pad": hashlib.sha256(b"%d" % i).hexdigest()} for i in range(5000)]
    full = compress(jsonl(rows), how)
    p = tmp_path / f"t.{how}"
    p.write_bytes(full[: len(full) // 2])
    recs = records(p)
    assert len(recs) > 10
    assert all(r.ok for r in recs[:-1])
    assert [r.value for r in recs[:-1]] == rows[: len(recs) - 1]
    assert recs[-1].error == TRUNCATED_COMPRESSED_STREAM
    assert recs[-1].offset == len(recs)
    with open_records(p) as s:
        list(s)
        assert s.problem is not None and s.problem[0] == TRUNCATED_COMPRESSED_STREAM


def test_truncated_gzip_of_an_array_and_corrupt_gzip(tmp_path: Path) -> None:
    full = gzip.compress(orjson.dumps([{"i": i} for i in range(3000)]))
    recs = records(write(tmp_path, "a.gz", full[: len(full) * 2 // 3]))
    assert recs[-1].error == TRUNCATED_COMPRESSED_STREAM
    assert all(r.ok for r in recs[:-1])
    corrupt = bytearray(gzip.compress(jsonl(ROWS * 50)))
    corrupt[40:60] = b"\xff" * 20
    recs = records(write(tmp_path, "c.gz", bytes(corrupt)))
    assert recs[-1].error in (CORRUPT_COMPRESSED_STREAM, INVALID_JSON, INVALID_UTF8)
    assert any(r.error == CORRUPT_COMPRESSED_STREAM for r in recs)
    trailing = gzip.compress(jsonl(ROWS)) + b"garbage"
    recs = records(write(tmp_path, "g.gz", trailing))
    assert [r.value for r in recs[:-1]] == ROWS and recs[-1].error == CORRUPT_COMPRESSED_STREAM


def test_binary_garbage_does_not_raise(tmp_path: Path) -> None:
    data = bytes(range(256)) * 50
    recs = records(write(tmp_path, "bin", data))
    assert recs and all(not r.ok for r in recs)


# --------------------------------------------------------------------------------------------------
# Digests


def test_digests_distinguish_repeats_and_are_stable(tmp_path: Path) -> None:
    line = orjson.dumps(ROWS[0])
    data = line + b"\n" + orjson.dumps(ROWS[1]) + b"\n" + line + b"\n" + line + b"\n"
    a = records(write(tmp_path, "a.jsonl", data))
    b = records(write(tmp_path, "renamed.jsonl.gz", data, "gz"))
    assert [r.digest for r in a] == [r.digest for r in b]
    assert len({r.digest for r in a}) == 4
    assert a[0].digest == hashlib.sha256(line).hexdigest()


def test_array_digests_ignore_layout(tmp_path: Path) -> None:
    a = records(write(tmp_path, "a.json", orjson.dumps(ROWS)))
    b = records(write(tmp_path, "b.json", orjson.dumps(ROWS, option=orjson.OPT_INDENT_2)))
    assert [r.digest for r in a] == [r.digest for r in b]


def test_occurrence_numbers_past_the_exact_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(containers._Occurrences, "EXACT_LIMIT", 8)
    monkeypatch.setattr(containers._Occurrences, "BLOOM_BITS", 1 << 12)
    raws = [b"r%d" % (i % 30) for i in range(200)]
    occ1, occ2 = containers._Occurrences(), containers._Occurrences()
    d1 = [occ1.digest(r) for r in raws]
    d2 = [occ2.digest(r) for r in raws]
    assert d1 == d2  # deterministic
    assert len(set(d1)) == len(d1)  # every record distinct


# --------------------------------------------------------------------------------------------------
# Folder expansion


def test_expand_paths(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    (root / "b" / "c").mkdir(parents=True)
    (root / ".hidden_dir").mkdir()
    for rel in [
        "z.jsonl",
        "a.jsonl.gz",
        "b/c/x.json",
        "b/y.csv",
        ".hidden",
        ".hidden_dir/q.jsonl",
        "_SUCCESS",
        "part.crc",
        "b/amazon-bedrock-logs-permission-check",
    ]:
        (root / rel).write_text("{}")
    store = root / "store"
    for d in ("requests", "_txn", "quarantine"):
        (store / d).mkdir(parents=True)
    (store / "manifest.json").write_text("{}")
    (store / "requests" / "p.parquet").write_text("x")
    got = [p.relative_to(root).as_posix() for p in expand_paths([root])]
    assert got == ["a.jsonl.gz", "b/amazon-bedrock-logs-permission-check", "b/c/x.json", "b/y.csv", "z.jsonl"]
    # named files are never skipped; excluded folders are
    assert expand_paths([root / ".hidden"]) == [root / ".hidden"]
    got = [p.name for p in expand_paths([root], exclude=[root / "b"])]
    assert got == ["a.jsonl.gz", "z.jsonl"]
    with pytest.raises(FileNotFoundError):
        expand_paths([root / "missing"])


# --------------------------------------------------------------------------------------------------
# Properties


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=5), max_size=8),
    how=st.sampled_from(["plain", "gz", "zst"]),
    layout=st.sampled_from(["jsonl", "array", "concat"]),
)
def test_json_round_trip_property(tmp_path: Path, rows: list[dict[str, Any]], how: str, layout: str) -> None:
    if layout == "jsonl":
        data = jsonl(rows)
    elif layout == "array":
        data = orjson.dumps(rows)
    else:
        data = b"".join(orjson.dumps(r) for r in rows)
    p = write(tmp_path, "prop", data, how)
    assert values(p) == rows


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        st.binary(max_size=600),
        st.lists(
            st.sampled_from(
                [
                    b"{",
                    b"}",
                    b"[",
                    b"]",
                    b'"',
                    b"\\",
                    b",",
                    b":",
                    b"\n",
                    b" ",
                    b"\x00",
                    b"\xff",
                    b'{"a":1}',
                    b"1",
                    b"PAR1",
                    b"a,b\n",
                    b"\x1f\x8b",
                    b"\x28\xb5\x2f\xfd",
                ]
            ),
            max_size=60,
        ).map(b"".join),
    ),
    how=st.sampled_from(["plain", "gz", "zst", "gz-cut", "zst-cut"]),
    limit=st.sampled_from([8, 64, 1 << 20]),
)
def test_arbitrary_bytes_never_raise(tmp_path: Path, data: bytes, how: str, limit: int) -> None:
    raw = compress(data, how.split("-")[0])
    if how.endswith("cut"):
        raw = raw[: len(raw) // 2]
    p = tmp_path / "arbitrary"
    p.write_bytes(raw)
    recs = records(p, max_record_bytes=limit)
    offsets = [r.offset for r in recs]
    assert offsets == sorted(offsets)
    for r in recs:
        assert r.ok or r.value is None
        assert r.ok or r.error in containers.RECORD_ERRORS
        assert len(r.digest) == 64
        assert len(r.excerpt.encode("utf-8", "surrogatepass")) <= 3 * containers.EXCERPT_BYTES

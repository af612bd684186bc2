"""Generic reader driven by [ingest.mappings.<name>]."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from _format_helpers import (  # shared helpers of the gateway-format reader tests
    JSON,
    REF,
    finalize,
    load,
    mutated,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractscan.config import ConfigError, FieldMapping, IngestConfig, load_config
from extractscan.ingest.base import Rejected
from extractscan.ingest.formats.generic import GenericReader, SafeReader, generic_readers, resolve_path
from extractscan.ingest.registry import readers
from extractscan.schema import CANONICAL_SCHEMA

TOML = """
[ingest.mappings.proxy]
match = "proxy-*.jsonl"
time_format = "%d/%m/%Y %H:%M:%S"

[ingest.mappings.proxy.columns]
event_time = "ts"
account_id = "tenant.id"
api_key_id = "tenant.key"
principal_id = "who"
client_ip = "meta.ip"
status_code = "meta.status"
tags = "meta.labels"
request_body = "req"
response_body = "resp"

[ingest.mappings.sheet]
match = "*.csv"

[ingest.mappings.sheet.columns]
event_time = "timestamp"
account_id = "tenant"
end_user_id = "user"
prompt = "prompt"
response_text = "answer"
input_tokens = "tokens_in"
output_tokens = "tokens_out"
temperature = "temperature"
stream = "stream"
tags = "labels"
latency_ms = "latency"
status_code = "http_status"
"""


@pytest.fixture(scope="module")
def generic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GenericReader]:
    path = tmp_path_factory.mktemp("cfg") / "extractscan.toml"
    path.write_text(TOML, encoding="utf-8")
    return generic_readers(load_config(path).ingest)


def parse(reader: GenericReader, rec: Any) -> list[Any]:
    return finalize(reader.name, reader.parse(rec, REF))


def test_readers_built_from_config_and_not_registered(generic: dict[str, GenericReader]) -> None:
    assert sorted(generic) == ["generic:proxy", "generic:sheet"]
    proxy = generic["generic:proxy"]
    assert proxy.name == "generic:proxy" and GenericReader.name == ""
    assert not any(n.startswith("generic") for n in readers())
    assert proxy.matches("/logs/2025/proxy-001.jsonl") and not proxy.matches("other.jsonl")
    assert generic["generic:sheet"].matches("export.csv")


def test_jsonl_mapping_with_bodies_and_time_format(generic: dict[str, GenericReader]) -> None:
    reader = generic["generic:proxy"]
    good, bad = load("generic_proxy.jsonl")
    assert reader.sniff(good)
    (row,) = parse(reader, good)
    assert row["source_format"] == "generic:proxy"
    assert row["event_time"] == datetime(2025, 6, 3, 10, 15, tzinfo=UTC)
    assert row["account_id"] == "acme" and row["principal_id"] == "bob"
    assert row["api_key_id"].startswith("key:") and "sk-live" not in row["api_key_id"]
    assert (row["client_ip"], row["status_code"]) == ("198.51.100.9", 200)
    assert row["tags"] == [{"key": "env", "value": "prod"}]
    assert (row["provider"], row["api_surface"], row["model_requested"]) == (
        "openai",
        "chat.completions",
        "gpt-4o",
    )
    assert row["system_text"] == "Be terse." and row["last_user_text"] == "Explain TCP."
    assert row["temperature"] == 0.2
    assert (row["response_text"], row["model_served"], row["total_tokens"]) == (
        "TCP is...",
        "gpt-4o-2024-08-06",
        42,
    )
    assert row["record_id"] == "generic:proxy:chatcmpl-g1"  # no request id: the response id
    (out,) = parse(reader, bad)
    assert isinstance(out, Rejected) and out.reason == "missing_field"
    pa.Table.from_pylist([row], schema=CANONICAL_SCHEMA)


def test_csv_mapping_coerces_strings(generic: dict[str, GenericReader]) -> None:
    reader = generic["generic:sheet"]
    good, bad = load("generic_proxy.csv")
    (row,) = parse(reader, good)
    assert row["event_time"] == datetime(2025, 6, 3, 10, 15, tzinfo=UTC)
    assert row["account_id"] == "acme" and row["end_user_id"] == "bob"
    assert row["messages"] == [{"role": "user", "text": "Write a haiku about the sea."}]
    assert row["last_user_text"] == "Write a haiku about the sea."
    assert row["response_text"] == "Waves..."
    assert (row["input_tokens"], row["output_tokens"], row["temperature"]) == (9, 17, 0.9)
    assert (row["stream"], row["latency_ms"], row["status_code"]) == (True, 812.5, 200)
    assert row["tags"] == [{"key": "team", "value": "growth"}]  # a JSON object in a cell
    assert row["body_status"] == "inline"
    (out,) = parse(reader, bad)
    assert isinstance(out, Rejected) and out.reason == "missing_field"
    # Uncoercible values are dropped, the row is kept when a key field is there.
    (row,) = parse(reader, {**bad, "tenant": "acme"})
    assert row["account_id"] == "acme" and "temperature" not in row and "input_tokens" not in row


def test_messages_and_plain_prompt_columns() -> None:
    m = FieldMapping(
        columns={
            "messages": "conv",
            "last_user_text": "q",
            "session_id": "s",
            "n_requested": "n",
            "part_types": "kinds",
            "system_text": "sys",
        }
    )
    reader = GenericReader("chat", m)
    rec = {"conv": json.dumps([{"role": "developer", "content": "Be kind."},
                               {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
                               {"role": "assistant", "content": "Hello"}]),
           "q": "And now?", "s": 12, "n": 2**40, "kinds": '["image"]'}  # fmt: skip
    (row,) = parse(reader, rec)
    assert row["system_text"] == "Be kind."
    assert [m["role"] for m in row["messages"]] == ["user", "assistant", "user"]
    assert row["last_user_text"] == "And now?"
    assert row["session_id"] == "12"
    assert "n_requested" not in row  # out of int32 range: dropped, not a failed batch
    assert row["part_types"] == ["image"]
    pa.Table.from_pylist([row], schema=CANONICAL_SCHEMA)


def test_resolve_path() -> None:
    rec = {"a": {"b": [{"c": 1}, {"c": 2}]}, "j": '{"k": {"v": "x"}}', "dotted.key": 5}
    assert resolve_path(rec, "a.b.1.c") == 2
    assert resolve_path(rec, "a.b.-1.c") == 2
    assert resolve_path(rec, "a.b.9.c") is None
    assert resolve_path(rec, "j.k.v") == "x"
    assert resolve_path(rec, "dotted.key") == 5
    assert resolve_path(rec, "a.x.y") is None


def test_safe_reader_turns_bugs_into_rejections() -> None:
    class Boom(SafeReader):
        def _sniff(self, obj: Any) -> bool:
            raise ValueError("sniff bug")

        def _parse(self, obj: Any) -> Any:
            yield {"account_id": "a"}
            raise KeyError("parse bug")

    reader = Boom()
    assert reader.sniff({"x": 1}) is False
    (out,) = reader.parse({"x": 1}, REF)
    assert isinstance(out, Rejected) and out.reason == "parse_error" and "KeyError" in out.message


def test_bad_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown column"):
        GenericReader("x", FieldMapping(columns={"acount_id": "a"}))
    with pytest.raises(ConfigError, match="derived"):
        GenericReader("x", FieldMapping(columns={"prompt_hash": "a"}))
    with pytest.raises(ConfigError):
        generic_readers(IngestConfig(mappings={"y": FieldMapping(columns={"event_time": ""})}))


@pytest.mark.parametrize("bad", [None, 3, "x", [1, 2], {}])
def test_bad_records_are_rejected_not_raised(generic: dict[str, GenericReader], bad: Any) -> None:
    for reader in generic.values():
        out = list(reader.parse(bad, REF))
        assert len(out) == 1 and isinstance(out[0], Rejected)


PROPERTY_READERS = generic_readers(IngestConfig(mappings={
    "proxy": FieldMapping(columns={
        "event_time": "ts", "account_id": "tenant.id", "api_key_id": "tenant.key", "principal_id": "who",
        "client_ip": "meta.ip", "status_code": "meta.status", "tags": "meta.labels", "request_body": "req",
        "response_body": "resp"}, time_format="%d/%m/%Y %H:%M:%S"),
    "sheet": FieldMapping(columns={
        "event_time": "timestamp", "account_id": "tenant", "end_user_id": "user", "prompt": "prompt",
        "response_text": "answer", "input_tokens": "tokens_in", "output_tokens": "tokens_out",
        "temperature": "temperature", "stream": "stream", "tags": "labels", "latency_ms": "latency",
        "status_code": "http_status", "messages": "answer", "top_k": "tokens_in", "end_time": "timestamp"}),
}))  # fmt: skip
PROPERTY_EXAMPLES = {"generic:proxy": load("generic_proxy.jsonl"), "generic:sheet": load("generic_proxy.csv")}


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_never_raises_on_arbitrary_or_mutated_input(data: Any) -> None:
    name = data.draw(st.sampled_from(sorted(PROPERTY_READERS)))
    reader = PROPERTY_READERS[name]
    if data.draw(st.booleans()):
        rec = data.draw(JSON)
    else:
        rec = data.draw(mutated(data.draw(st.sampled_from(PROPERTY_EXAMPLES[name]))))
    assert isinstance(reader.sniff(rec) if isinstance(rec, dict) else False, bool)
    rows = [r for r in finalize(name, reader.parse(rec, REF)) if not isinstance(r, Rejected)]
    pa.Table.from_pylist(rows, schema=CANONICAL_SCHEMA)


_ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.datetimes(timezones=st.sampled_from([UTC, None])),
    st.lists(st.text(max_size=4), max_size=3),
    st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([f.name for f in CANONICAL_SCHEMA] + ["not_a_column"]), _ANY_VALUE))
def test_conform_row_fast_paths_equal_the_coercions(row: dict[str, Any]) -> None:
    """conform_row keeps already-typed values without calling conform_value; the result must be what
    conform_value gives for every value, and must always convert to the canonical schema."""
    from extractscan.ingest.formats.generic import COLUMN_KINDS, conform_row, conform_value

    expected = {}
    for k, v in row.items():
        if k in COLUMN_KINDS and v is not None:
            c = conform_value(COLUMN_KINDS[k], v)
            if c is not None:
                expected[k] = c
    got = conform_row(row)
    assert got == expected
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in expected.items()}
    pa.Table.from_pylist([{**got, "record_id": "r", "source_format": "f"}], schema=CANONICAL_SCHEMA)

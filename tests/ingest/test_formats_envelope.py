"""The extractscan envelope reader."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractscan.ingest import registry
from extractscan.ingest.base import Rejected, SourceRef, finalize_row, hash_api_key
from extractscan.ingest.formats.envelope import EnvelopeReader
from extractscan.schema import CANONICAL_SCHEMA, COLUMN_NAMES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
REF = SourceRef("gateway.jsonl", 7)
ENV = EnvelopeReader()


def load(name: str) -> list[Any]:
    text = (FIXTURES / name).read_text()
    if name.endswith(".jsonl"):
        return [orjson.loads(line) for line in text.splitlines() if line.strip()]
    data = json.loads(text)
    return data if isinstance(data, list) else [data]


def parse(obj: Any) -> list[Any]:
    return list(ENV.parse(obj, REF))


def one_row(obj: Any) -> Any:
    (out,) = parse(obj)
    assert not isinstance(out, Rejected), out
    return finalize_row(
        out,
        source_format="envelope",
        ref=REF,
        raw_digest="0" * 16,
        max_prompt_chars=10_000,
        max_response_chars=10_000,
    )


def rejected(obj: Any) -> Rejected:
    (out,) = parse(obj)
    assert isinstance(out, Rejected), out
    return out


def check_outcomes(obj: Any) -> None:
    rows = []
    for out in ENV.parse(obj, REF):
        if isinstance(out, Rejected):
            assert out.reason and isinstance(out.message, str) and out.kind in ("error", "skipped")
            continue
        is_row = isinstance(out, dict)
        assert is_row, out
        assert set(out) <= set(COLUMN_NAMES), set(out) - set(COLUMN_NAMES)
        rows.append(
            finalize_row(
                out,
                source_format="envelope",
                ref=REF,
                raw_digest="d" * 16,
                max_prompt_chars=500,
                max_response_chars=500,
            )
        )
    pa.Table.from_pylist(rows, schema=CANONICAL_SCHEMA)


EXAMPLES = load("envelope.jsonl")
MINIMAL = {"account_id": "a", "request": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}}


# --------------------------------------------------------------------------------------------------
# sniff


def test_sniff() -> None:
    for rec in EXAMPLES:
        assert ENV.sniff(rec)
        assert registry.sniff(rec) is registry.get_reader("envelope")
    assert ENV.sniff({"timestamp": 1, "request": None})  # claimed, then rejected with a reason
    assert not ENV.sniff({"request": {"body": {}}, "created_at": "2025-01-01"})  # Portkey
    assert not ENV.sniff({"timestamp": 1, "account_id": "a"})  # no request
    assert ENV.priority > max(r.priority for r in registry.readers().values() if r.name != "envelope")


def test_sniff_false_on_other_formats() -> None:
    for path in sorted(FIXTURES.glob("*.json*")):
        if path.name.startswith("envelope"):
            continue
        for rec in load(path.name):
            if isinstance(rec, dict):
                assert not ENV.sniff(rec), path.name


# --------------------------------------------------------------------------------------------------
# mapping


def test_chat_envelope_all_fields() -> None:
    row = one_row(EXAMPLES[0])
    assert row["event_time"] == datetime(2025, 6, 3, 10, 0, 0, 250000, tzinfo=UTC)  # +02:00 -> UTC
    assert row["account_id"] == "team-research"
    assert row["api_key_id"] == hash_api_key("sk-live-0123456789abcdef")  # raw key never stored
    assert not row["api_key_id"].startswith("sk-")
    assert row["principal_id"] == "svc-eval"
    assert row["end_user_id"] == "cust-42"  # envelope wins over the body's `user`
    assert row["session_id"] == "sess-9"
    assert row["client_ip"] == "203.0.113.7"
    assert row["user_agent"] == "OpenAI/Python 1.82.0"
    assert row["request_id"] == "gw-req-1"
    assert row["record_id"] == "envelope:gw-req-1"
    # envelope tags win per key; body metadata keys the envelope lacks are kept
    assert row["tags"] == [
        {"key": "env", "value": "prod"},
        {"key": "route", "value": "/v1/chat"},
        {"key": "app", "value": "quiz"},
    ]
    assert row["provider"] == "openai" and row["api_surface"] == "chat.completions"
    assert row["model_requested"] == "gpt-4o-mini"
    assert row["system_text"] == "You are terse."
    assert row["last_user_text"] == "Capital of Peru?"
    assert row["temperature"] == 0.2
    assert row["model_served"] == "gpt-4o-mini-2024-07-18"
    assert row["response_id"] == "chatcmpl-env1"
    assert row["response_text"] == "Lima."
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (20, 2, 22)
    assert row["status"] == "success"
    assert row["body_status"] == "inline"


def test_responses_envelope_epoch_seconds_and_numeric_account() -> None:
    row = one_row(EXAMPLES[1])
    assert row["event_time"] == datetime(2025, 6, 3, 10, 1, 40, tzinfo=UTC)
    assert row["account_id"] == "4242"  # coerced
    assert row["api_surface"] == "responses"
    assert row["system_text"] == "Think hard."
    assert row["last_user_text"] == "Is 221 prime?"
    assert row["reasoning_effort"] == "high" and row["max_output_tokens"] == 2000
    assert "status" not in row  # no response: outcome unknown


def test_anthropic_envelope() -> None:
    row = one_row(EXAMPLES[2])
    assert row["provider"] == "anthropic" and row["api_surface"] == "messages"
    assert row["principal_id"] == "alice@example.com"
    assert row["end_user_id"] == "body-user-1"  # from the body when the envelope has none
    assert row["system_text"] == "You are a poet."
    assert row["response_text"] == "Soft rain on tin roofs"
    assert row["record_id"] == "envelope:msg_env3"
    assert row["total_tokens"] == 24


def test_error_response_and_no_timestamp() -> None:
    row = one_row(EXAMPLES[3])
    assert "event_time" not in row
    assert row["status"] == "error" and row["error_code"] == "rate_limit_error"
    assert row["account_id"] == "team-c"


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2025-06-03T10:00:00Z", datetime(2025, 6, 3, 10, tzinfo=UTC)),
        ("2025-06-03T12:00:00+02:00", datetime(2025, 6, 3, 10, tzinfo=UTC)),
        ("2025-06-03T10:00:00", datetime(2025, 6, 3, 10, tzinfo=UTC)),
        ("2025-06-03 10:00:00.5", datetime(2025, 6, 3, 10, 0, 0, 500000, tzinfo=UTC)),
        (1748944800, datetime(2025, 6, 3, 10, tzinfo=UTC)),
        (1748944800.25, datetime(2025, 6, 3, 10, 0, 0, 250000, tzinfo=UTC)),
        ("1748944800", datetime(2025, 6, 3, 10, tzinfo=UTC)),
        (1748944800000, datetime(2025, 6, 3, 10, tzinfo=UTC)),  # milliseconds are recognised too
    ],
)
def test_timestamp_forms(ts: Any, expected: datetime) -> None:
    assert one_row({**MINIMAL, "timestamp": ts})["event_time"] == expected


def test_response_created_is_the_fallback_time() -> None:
    rec = copy.deepcopy(EXAMPLES[0])
    del rec["timestamp"]
    assert one_row(rec)["event_time"] == datetime(2025, 6, 3, 10, 0, 1, tzinfo=UTC)


def test_bodies_as_json_strings() -> None:
    rec = copy.deepcopy(EXAMPLES[0])
    rec["request"] = json.dumps(rec["request"])
    rec["response"] = json.dumps(rec["response"])
    row = one_row(rec)
    assert row["last_user_text"] == "Capital of Peru?" and row["response_text"] == "Lima."


# --------------------------------------------------------------------------------------------------
# rejections


@pytest.mark.parametrize(
    ("rec", "reason", "words"),
    [
        ({"timestamp": 1748944800, "account_id": "a"}, "missing_field", "request"),
        ({"timestamp": 1748944800, "request": None}, "missing_field", "request"),
        ({**MINIMAL, "request": [1, 2]}, "wrong_type", "`request` must be a JSON object, got array"),
        ({**MINIMAL, "request": "not json"}, "wrong_type", "got string"),
        ({**MINIMAL, "request": {"foo": 1}}, "unrecognized_body", "Chat Completions"),
        ({**MINIMAL, "timestamp": "yesterday"}, "wrong_type", "`timestamp` must be an RFC 3339 string"),
        ({**MINIMAL, "timestamp": True}, "wrong_type", "timestamp"),
        ({**MINIMAL, "timestamp": {"s": 1}}, "wrong_type", "got object"),
        ({**MINIMAL, "timestamp": 12}, "wrong_type", "1990-2200"),
        ({**MINIMAL, "account_id": ["a"]}, "wrong_type", "`account_id` must be a string, got array"),
        ({**MINIMAL, "api_key_id": {"k": 1}}, "wrong_type", "`api_key_id`"),
        ({**MINIMAL, "client_ip": True}, "wrong_type", "got boolean"),
        ({**MINIMAL, "tags": ["a", "b"]}, "wrong_type", "`tags` must be an object"),
        ({**MINIMAL, "response": [1]}, "wrong_type", "`response` must be a JSON object"),
        ([MINIMAL], "wrong_type", "JSON object"),
    ],
)
def test_rejections(rec: Any, reason: str, words: str) -> None:
    out = rejected(rec)
    assert out.reason == reason
    assert words in out.message
    assert out.kind == "error"


def test_coercions() -> None:
    row = one_row({**MINIMAL, "account_id": 12, "session_id": 3.5, "user_agent": "  ", "tags": {"n": 1, "o": {"a": 1}}})
    assert row["account_id"] == "12"
    assert row["session_id"] == "3.5"
    assert "user_agent" not in row  # blank -> null
    assert row["tags"] == [{"key": "n", "value": "1"}, {"key": "o", "value": '{"a":1}'}]


# --------------------------------------------------------------------------------------------------
# property: parse never raises, whatever the input

_KEYS = [
    "timestamp",
    "account_id",
    "api_key_id",
    "principal_id",
    "end_user_id",
    "session_id",
    "client_ip",
    "user_agent",
    "request_id",
    "tags",
    "request",
    "response",
    "model",
    "messages",
    "input",
    "role",
    "content",
    "system",
    "max_tokens",
    "choices",
    "object",
    "created",
]
_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(["2025-06-03T10:00:00Z", "user", "chat.completion", "message"])
)
JSON = st.recursive(
    _LEAF,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=6), c, max_size=5),
    max_leaves=10,
)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


def _replace(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    obj = copy.deepcopy(obj)
    cur = obj
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return obj


@st.composite
def mutated(draw: st.DrawFn, examples: list[Any]) -> Any:
    obj = draw(st.sampled_from(examples))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(obj))
        if not paths:
            break
        obj = _replace(obj, draw(st.sampled_from(paths)), draw(JSON))
    return obj


_SETTINGS = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(JSON | mutated(EXAMPLES))
def test_parse_never_raises(obj: Any) -> None:
    """Arbitrary JSON-like values, and real envelopes with fields replaced by random values."""
    check_outcomes(obj)

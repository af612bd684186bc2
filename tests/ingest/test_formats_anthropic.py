"""Anthropic readers: anthropic_messages (bodies) and anthropic_batch (Message Batches results)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractscan.ingest import registry
from extractscan.ingest.base import Rejected, SourceRef, finalize_row
from extractscan.ingest.formats.anthropic import AnthropicBatchReader, AnthropicMessagesReader
from extractscan.ingest.formats.openai import OpenAIChatReader
from extractscan.schema import CANONICAL_SCHEMA, COLUMN_NAMES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
REF = SourceRef("anthropic.jsonl", 2)
MSG = AnthropicMessagesReader()
BATCH = AnthropicBatchReader()
CHAT = OpenAIChatReader()
READERS = (MSG, BATCH)


def load(name: str) -> list[Any]:
    text = (FIXTURES / name).read_text()
    if name.endswith(".jsonl"):
        return [orjson.loads(line) for line in text.splitlines() if line.strip()]
    data = json.loads(text)
    return data if isinstance(data, list) else [data]


def parse(reader: Any, obj: Any) -> list[Any]:
    return list(reader.parse(obj, REF))


def one_row(reader: Any, obj: Any) -> Any:
    (out,) = parse(reader, obj)
    assert not isinstance(out, Rejected), out
    return finalize_row(
        out,
        source_format=reader.name,
        ref=REF,
        raw_digest="0" * 16,
        max_prompt_chars=10_000,
        max_response_chars=10_000,
    )


def check_outcomes(reader: Any, obj: Any) -> None:
    rows = []
    for out in reader.parse(obj, REF):
        if isinstance(out, Rejected):
            assert out.reason and isinstance(out.message, str) and out.kind in ("error", "skipped")
            continue
        is_row = isinstance(out, dict)
        assert is_row, out
        assert set(out) <= set(COLUMN_NAMES), set(out) - set(COLUMN_NAMES)
        rows.append(
            finalize_row(
                out,
                source_format=reader.name,
                ref=REF,
                raw_digest="d" * 16,
                max_prompt_chars=500,
                max_response_chars=500,
            )
        )
    pa.Table.from_pylist(rows, schema=CANONICAL_SCHEMA)


REQ = load("anthropic_messages_request.jsonl")
RESP = load("anthropic_messages_response.jsonl")
EXTRA = load("anthropic_messages_extra.jsonl")
RESULTS = load("anthropic_batch_results.jsonl")
BATCH_EXTRA = load("anthropic_batch_extra.jsonl")
OWN = {MSG: REQ + RESP + EXTRA, BATCH: RESULTS + BATCH_EXTRA}


# --------------------------------------------------------------------------------------------------
# sniff and the ambiguity with openai_chat


def test_sniff_own_examples_only() -> None:
    for reader, recs in OWN.items():
        for rec in recs:
            assert reader.sniff(rec), (reader.name, rec)
            for other in (*READERS, CHAT):
                if other is not reader:
                    assert not other.sniff(rec), (other.name, rec)


def test_sniff_false_on_other_formats() -> None:
    for path in sorted(FIXTURES.glob("*.json*")):
        if path.name.startswith("anthropic"):
            continue
        for rec in load(path.name):
            if isinstance(rec, dict):
                for reader in READERS:
                    assert not reader.sniff(rec), (reader.name, path.name)


def test_ambiguous_body_goes_to_openai_chat() -> None:
    plain = {
        "model": "claude-3-5-haiku-20241022",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
    }
    assert not MSG.sniff(plain)
    assert CHAT.sniff(plain)
    assert registry.sniff(plain) is registry.get_reader("openai_chat")
    assert MSG.priority > CHAT.priority


def test_each_marker_makes_it_anthropic() -> None:
    base = {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    markers: list[dict[str, Any]] = [
        {"system": "be brief"},
        {"system": [{"type": "text", "text": "be brief"}]},
        {"thinking": {"type": "enabled", "budget_tokens": 1024}},
        {"top_k": 5},
        {"stop_sequences": ["END"]},
        {"anthropic_version": "bedrock-2023-05-31"},
        {"metadata": {"user_id": "u1"}},
        {"tools": [{"name": "t", "input_schema": {}}]},
        {"messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]},
        {"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "n", "input": {}}]}]},
    ]
    for extra in markers:
        body = {**base, **extra}
        assert MSG.sniff(body), extra
        assert not CHAT.sniff(body), extra
        assert registry.sniff(body) is registry.get_reader("anthropic_messages"), extra
    # OpenAI metadata with more keys than user_id is not a marker
    assert not MSG.sniff({**base, "metadata": {"user_id": "u1", "app": "x"}})


# --------------------------------------------------------------------------------------------------
# anthropic_messages


def test_request_with_thinking() -> None:
    row = one_row(MSG, REQ[0])
    assert row["provider"] == "anthropic" and row["api_surface"] == "messages"
    assert row["model_requested"] == "claude-sonnet-4-20250514"
    assert row["system_text"] == "You are an expert competitive programmer."
    assert row["last_user_text"].startswith("Solve: given an array, find the longest increasing subsequence.")
    assert row["max_output_tokens"] == 4096
    assert row["temperature"] == 1.0
    assert row["thinking_budget_tokens"] == 2048
    assert row["end_user_id"] == "3f2a9c0e-hashed-user"
    assert "account_id" not in row and "event_time" not in row
    assert row["body_status"] == "inline"


def test_request_blocks_prefill_multi_turn() -> None:
    row = one_row(MSG, REQ[1])
    assert row["system_text"] == "Respond only in JSON."
    assert row["messages"] == [
        {"role": "user", "text": "Extract entities from: 'Ada Lovelace met Babbage in London.'"},
        {"role": "assistant", "text": '{"entities": ['},
        {"role": "user", "text": "Continue, and include entity types."},
    ]
    assert row["last_user_text"] == "Continue, and include entity types."
    assert row["n_messages"] == 3 and row["n_user_turns"] == 2
    assert row["top_k"] == 40
    assert row["max_output_tokens"] == 1024


def test_request_tools_images_adaptive_thinking() -> None:
    row = one_row(MSG, EXTRA[0])
    assert row["thinking_budget_tokens"] == -1  # adaptive
    assert row["tools_count"] == 2
    assert row["stream"] is True
    assert row["end_user_id"] == "end-user-77"
    assert row["messages"][0]["text"] == "[image]\nWhere is this?"
    assert row["messages"][1] == {"role": "assistant", "text": ""}  # thinking + tool_use only
    assert row["last_user_text"] == "18C, sunny\nAnd the weather?"  # tool_result text unwrapped
    assert row["part_types"] == ["image", "thinking", "tool_result", "tool_use"]


def test_metadata_user_id_only_marker() -> None:
    row = one_row(MSG, EXTRA[1])
    assert row["end_user_id"] == "u-9"
    assert row["provider"] == "anthropic"


def test_response_with_thinking() -> None:
    row = one_row(MSG, RESP[0])
    assert row["record_id"] == "anthropic_messages:msg_01XyZaBcDeFgHiJkLmNoPqRs"
    assert row["response_id"] == "msg_01XyZaBcDeFgHiJkLmNoPqRs"
    assert row["model_served"] == "claude-sonnet-4-20250514"
    assert row["response_text"] == "Use an O(n log n) approach: maintain tails[] ..."  # thinking excluded
    assert row["finish_reason"] == "end_turn"
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (48, 1733, 1781)
    assert (row["cache_read_tokens"], row["cache_write_tokens"]) == (0, 0)
    assert row["status"] == "success"
    assert row["body_status"] == "absent"
    assert "event_time" not in row  # Anthropic bodies carry no time


def test_response_tool_use_and_cache() -> None:
    row = one_row(MSG, EXTRA[2])
    assert row["response_text"] == "Let me check."
    assert row["finish_reason"] == "tool_use"
    assert (row["cache_read_tokens"], row["cache_write_tokens"]) == (150, 1000)


def test_error_body() -> None:
    row = one_row(MSG, EXTRA[3])
    assert row["status"] == "error"
    assert row["error_code"] == "overloaded_error"
    assert row["status_code"] == 529
    assert row["request_id"] == "req_011CSHoEeqs5C35K2UUqR7Fy"


def test_messages_rejects() -> None:
    (out,) = parse(MSG, {"model": "m", "max_tokens": 1, "system": "x", "messages": {"role": "user"}})
    assert isinstance(out, Rejected) and out.reason == "wrong_type"
    (out,) = parse(MSG, {"model": "m", "max_tokens": 1, "system": "x"})
    assert isinstance(out, Rejected) and out.reason == "missing_field"
    (out,) = parse(MSG, None)
    assert isinstance(out, Rejected) and out.reason == "wrong_type"


# --------------------------------------------------------------------------------------------------
# anthropic_batch


def test_batch_succeeded() -> None:
    row = one_row(BATCH, RESULTS[0])
    assert row["batch_custom_id"] == "item-0001"
    assert row["record_id"] == "anthropic_batch:msg_01AaBbCcDdEeFfGgHhIiJjKk"
    assert row["status"] == "success" and row["status_code"] == 200
    assert row["model_served"] == "claude-3-5-haiku-20241022"
    assert row["response_text"] == "Photosynthesis converts light energy into chemical energy..."
    assert (row["input_tokens"], row["output_tokens"]) == (22, 310)


def test_batch_errored_canceled_expired() -> None:
    errored = one_row(BATCH, RESULTS[1])
    assert errored["status"] == "error"
    assert errored["error_code"] == "invalid_request_error" and errored["status_code"] == 400
    assert errored["batch_custom_id"] == "item-0002"
    with_id = one_row(BATCH, BATCH_EXTRA[0])
    assert with_id["request_id"] == "req_batch_0003" and with_id["error_code"] == "rate_limit_error"
    for rec, code in ((BATCH_EXTRA[1], "canceled"), (BATCH_EXTRA[2], "expired")):
        row = one_row(BATCH, rec)
        assert row["status"] == "error" and row["error_code"] == code
        assert row["batch_custom_id"] == rec["custom_id"]


def test_batch_request_line() -> None:
    row = one_row(BATCH, BATCH_EXTRA[3])
    assert row["batch_custom_id"] == "item-0006"
    assert row["system_text"] == "Be concise."
    assert row["last_user_text"] == "Define entropy."
    assert row["max_output_tokens"] == 256


def test_batch_rejects() -> None:
    (out,) = parse(BATCH, {"custom_id": "x", "result": {"type": "weird"}})
    assert isinstance(out, Rejected) and out.reason == "wrong_type"
    (out,) = parse(BATCH, {"custom_id": "x", "result": {"type": "succeeded", "message": "hi"}})
    assert isinstance(out, Rejected) and out.reason == "wrong_type"
    (out,) = parse(BATCH, {"custom_id": "x", "result": [1]})
    assert isinstance(out, Rejected) and out.reason == "wrong_type"
    (out,) = parse(BATCH, {"custom_id": "x", "result": None})
    assert isinstance(out, Rejected) and out.reason == "missing_field"


# --------------------------------------------------------------------------------------------------
# property: parse never raises, whatever the input

_KEYS = [
    "model",
    "max_tokens",
    "messages",
    "system",
    "role",
    "content",
    "type",
    "text",
    "thinking",
    "budget_tokens",
    "top_k",
    "stop_sequences",
    "metadata",
    "user_id",
    "tools",
    "input_schema",
    "tool_result",
    "usage",
    "id",
    "stop_reason",
    "custom_id",
    "result",
    "message",
    "error",
    "params",
    "request_id",
]
_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(["message", "succeeded", "errored", "tool_use", "tool_result", "enabled", "adaptive"])
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
@given(JSON | mutated([rec for recs in OWN.values() for rec in recs]))
def test_parse_never_raises(obj: Any) -> None:
    """Arbitrary JSON-like values, and real records with fields replaced by random values."""
    for reader in READERS:
        check_outcomes(reader, obj)

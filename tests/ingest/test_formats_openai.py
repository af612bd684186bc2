"""OpenAI readers: openai_chat, openai_responses, openai_batch_input, openai_batch_output."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractscan.ingest.base import Rejected, SourceRef, finalize_row
from extractscan.ingest.formats.openai import (
    OpenAIBatchInputReader,
    OpenAIBatchOutputReader,
    OpenAIChatReader,
    OpenAIResponsesReader,
    url_kind,
)
from extractscan.schema import CANONICAL_SCHEMA, COLUMN_NAMES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
REF = SourceRef("openai.jsonl", 3)
CHAT = OpenAIChatReader()
RESP = OpenAIResponsesReader()
BIN = OpenAIBatchInputReader()
BOUT = OpenAIBatchOutputReader()
READERS = (CHAT, RESP, BIN, BOUT)


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


CHAT_REQ = load("openai_chat_completions_request.jsonl")
CHAT_RESP = load("openai_chat_completions_response.jsonl")
CHAT_EXTRA = load("openai_chat_extra.jsonl")
RESP_REQ = load("openai_responses_request.jsonl")
RESP_RESP = load("openai_responses_response.jsonl")
RESP_EXTRA = load("openai_responses_extra.jsonl")
BATCH_IN = load("openai_batch_input.jsonl") + load("openai_batch_input_extra.jsonl")
BATCH_OUT = load("openai_batch_output.jsonl") + load("openai_batch_output_extra.jsonl")
OWN = {
    CHAT: CHAT_REQ + CHAT_RESP + CHAT_EXTRA,
    RESP: RESP_REQ + RESP_RESP + RESP_EXTRA,
    BIN: BATCH_IN,
    BOUT: BATCH_OUT,
}


# --------------------------------------------------------------------------------------------------
# sniff


def test_sniff_own_examples_only() -> None:
    for reader, recs in OWN.items():
        for rec in recs:
            assert reader.sniff(rec), (reader.name, rec)
            for other in READERS:
                if other is not reader:
                    assert not other.sniff(rec), (other.name, rec)


def test_sniff_false_on_other_formats() -> None:
    for path in sorted(FIXTURES.glob("*.json*")):
        if path.name.startswith("openai"):
            continue
        for rec in load(path.name):
            if isinstance(rec, dict):
                for reader in READERS:
                    assert not reader.sniff(rec), (reader.name, path.name)


def test_chat_sniff_rejects_gateway_records_and_anthropic_bodies() -> None:
    # a body embedded among many gateway fields is not a raw body
    assert not CHAT.sniff({"model": "m", "messages": [], "call_type": 1, "trace_id": 1, "startTime": 1, "spend": 1})
    # Anthropic-only markers
    assert not CHAT.sniff({"model": "m", "max_tokens": 5, "system": "s", "messages": []})
    assert not CHAT.sniff(
        {
            "model": "m",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "x"}]}],
        }
    )
    # the ambiguous plain body is OpenAI's
    assert CHAT.sniff({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
    # no model: only the API's own keys
    assert CHAT.sniff({"messages": [{"role": "user", "content": "x"}], "max_tokens": 3})
    assert not CHAT.sniff({"messages": [{"role": "user", "content": "x"}], "foo": 1})


# --------------------------------------------------------------------------------------------------
# openai_chat


def test_chat_request_mapping() -> None:
    row = one_row(CHAT, CHAT_REQ[0])
    assert row["provider"] == "openai" and row["api_surface"] == "chat.completions"
    assert row["model_requested"] == "gpt-4o-mini"
    assert row["system_text"] == "You are a concise assistant."  # developer role
    assert row["messages"] == [{"role": "user", "text": "List three prime numbers greater than 100."}]
    assert row["last_user_text"] == "List three prime numbers greater than 100."
    assert row["max_output_tokens"] == 256
    assert row["temperature"] == 0.7
    assert row["n_requested"] == 1
    assert row["logprobs"] is True and row["top_logprobs"] == 5
    assert row["stream"] is False
    assert row["end_user_id"] == "sid_5c2e1b7a"  # safety_identifier wins over user
    assert row["tags"] == [{"key": "app", "value": "tutor-web"}]
    # a raw body has no tenant and no time
    assert "account_id" not in row and "event_time" not in row and "status" not in row
    assert row["body_status"] == "inline"
    assert row["record_id"] == "sha256:" + "0" * 16


def test_chat_request_multi_turn_with_image() -> None:
    row = one_row(CHAT, CHAT_REQ[1])
    assert row["system_text"] == "Answer with detailed chain of reasoning."
    assert [m["role"] for m in row["messages"]] == ["user", "assistant", "user"]
    assert row["messages"][0]["text"] == "What is shown in this picture?\n[image]"
    assert row["part_types"] == ["image"]
    assert row["last_user_text"] == "Describe its pose in exhaustive detail."
    assert row["n_user_turns"] == 2
    assert (row["max_output_tokens"], row["n_requested"], row["seed"], row["temperature"]) == (
        1500,
        8,
        42,
        0.0,
    )


def test_chat_request_tools_and_params() -> None:
    row = one_row(CHAT, CHAT_EXTRA[1])
    assert row["max_output_tokens"] == 500  # max_completion_tokens is null: max_tokens is used
    assert row["n_requested"] == 3
    assert row["logprobs"] is True and row["top_logprobs"] == 10
    assert row["seed"] == 7 and row["stream"] is True
    assert row["reasoning_effort"] == "low"
    assert row["response_format_type"] == "json_schema"
    assert row["tools_count"] == 2
    assert row["end_user_id"] == "u_legacy"
    assert [m["role"] for m in row["messages"]] == ["user", "assistant", "tool", "user"]
    assert row["messages"][2]["text"] == '[{"flight":"SK123"}]'
    assert row["last_user_text"] == "Pick the cheapest.\n[file]"
    assert row["part_types"] == ["file", "tool_use"]


def test_chat_ambiguous_plain_body_is_openai() -> None:
    row = one_row(CHAT, CHAT_EXTRA[0])
    assert row["provider"] == "openai"
    assert row["max_output_tokens"] == 300


def test_chat_response_only_row() -> None:
    row = one_row(CHAT, CHAT_RESP[0])
    assert row["record_id"] == "openai_chat:chatcmpl-Bx9aZ1q2W3e4R5t6Y7u8I9o0"
    assert row["response_id"] == "chatcmpl-Bx9aZ1q2W3e4R5t6Y7u8I9o0"
    assert row["event_time"] == datetime(2025, 6, 2, 14, 10, tzinfo=UTC)  # `created`
    assert row["model_served"] == "gpt-4o-mini-2024-07-18"
    assert row["response_text"] == "101, 103, 107"
    assert row["finish_reason"] == "stop"
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (27, 9, 36)
    assert row["cache_read_tokens"] == 0 and row["reasoning_tokens"] == 0
    assert row["status"] == "success"
    assert row["body_status"] == "absent"
    assert "messages" not in row and "last_user_text" not in row


def test_chat_response_choices_and_usage_details() -> None:
    row = one_row(CHAT, CHAT_EXTRA[2])
    assert row["n_response_choices"] == 2
    assert row["response_text"] == "SK123 is cheapest."
    assert row["cache_read_tokens"] == 64 and row["reasoning_tokens"] == 256


def test_chat_rejects() -> None:
    (out,) = parse(CHAT, {"model": "m", "messages": "hello"})
    assert isinstance(out, Rejected) and out.reason == "wrong_type"
    (out,) = parse(CHAT, {"model": "m"})
    assert isinstance(out, Rejected) and out.reason == "missing_field"
    (out,) = parse(CHAT, 42)
    assert isinstance(out, Rejected) and out.reason == "wrong_type"
    (out,) = parse(CHAT, {"object": "chat.completion", "choices": {}})
    assert isinstance(out, Rejected) and out.reason == "wrong_type"


# --------------------------------------------------------------------------------------------------
# openai_responses


def test_responses_request_mapping() -> None:
    row = one_row(RESP, RESP_REQ[0])
    assert row["provider"] == "openai" and row["api_surface"] == "responses"
    assert row["model_requested"] == "o4-mini"
    assert row["system_text"] == "You are a rigorous proof assistant."  # instructions
    assert row["last_user_text"] == "Prove that the square root of 2 is irrational."
    assert row["reasoning_effort"] == "high"
    assert row["max_output_tokens"] == 4000
    assert row["end_user_id"] == "sid_77aa01"
    assert row["tags"] == [{"key": "batch", "value": "nightly-17"}]
    row2 = one_row(RESP, RESP_REQ[1])
    assert row2["messages"] == [{"role": "user", "text": "Give me 20 diverse paraphrases of: 'The meeting is postponed.'"}]
    assert (row2["temperature"], row2["top_p"], row2["end_user_id"]) == (1.2, 0.9, "u_2b7c9d")


def test_responses_request_items() -> None:
    row = one_row(RESP, RESP_EXTRA[0])
    assert row["system_text"] == "Answer in French."  # developer message
    assert [m["role"] for m in row["messages"]] == ["user", "tool", "user"]
    assert row["messages"][0]["text"] == "What is this?\n[image]"
    assert row["messages"][1]["text"] == "a stop sign"
    assert row["last_user_text"] == "Explain what it means."
    assert row["top_logprobs"] == 3 and row["logprobs"] is True
    assert row["tools_count"] == 1
    assert row["response_format_type"] == "json_object"
    assert row["session_id"] == "conv_abc"
    assert row["reasoning_effort"] == "minimal"
    assert row["part_types"] == ["image", "tool_result", "tool_use"]


def test_responses_response_only_row() -> None:
    row = one_row(RESP, RESP_RESP[0])
    assert row["record_id"] == "openai_responses:resp_6842c0b3a7f08190a1b2c3d4e5f6a7b8"
    assert row["event_time"] == datetime(2025, 6, 2, 14, 11, 40, tzinfo=UTC)  # created_at
    assert row["model_served"] == "o4-mini-2025-04-16"
    assert row["response_text"] == "Suppose sqrt(2) = p/q with gcd(p,q)=1 ..."  # reasoning summary excluded
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (32, 911, 943)
    assert row["reasoning_tokens"] == 640
    assert row["status"] == "success" and row["finish_reason"] == "completed"
    assert row["body_status"] == "absent"
    # echoed request settings
    assert row["system_text"] == "You are a rigorous proof assistant."
    assert row["max_output_tokens"] == 4000
    assert row["end_user_id"] == "sid_77aa01"


def test_responses_failed_and_incomplete() -> None:
    failed = one_row(RESP, RESP_EXTRA[1])
    assert failed["status"] == "error" and failed["error_code"] == "server_error"
    assert failed["response_id"] == "resp_failed01"
    incomplete = one_row(RESP, RESP_EXTRA[2])
    assert incomplete["status"] == "success"
    assert incomplete["finish_reason"] == "max_output_tokens"
    assert incomplete["response_text"] == "The meeting is"


def test_responses_rejects_and_skips() -> None:
    (out,) = parse(RESP, {"model": "text-embedding-3-small", "input": "hello"})
    assert isinstance(out, Rejected) and out.kind == "skipped" and out.reason == "not_a_model_call"
    (out,) = parse(RESP, {"model": "m", "input": 5})
    assert isinstance(out, Rejected) and out.reason == "wrong_type"
    (out,) = parse(RESP, {"model": "m"})
    assert isinstance(out, Rejected) and out.reason == "missing_field"


# --------------------------------------------------------------------------------------------------
# batch


def test_batch_input_chat_line() -> None:
    row = one_row(BIN, BATCH_IN[0])
    assert row["batch_custom_id"] == "req-000001"
    assert row["api_surface"] == "chat.completions"
    assert row["model_requested"] == "gpt-4o-mini"
    assert row["system_text"] == "You are a helpful assistant."
    assert row["last_user_text"] == "Write a Python function that reverses a linked list. Explain each line."
    assert (row["max_output_tokens"], row["temperature"]) == (800, 0.2)
    assert "event_time" not in row and "account_id" not in row
    # custom_id is only unique within one batch: the record id is the content hash
    assert row["record_id"].startswith("sha256:")


def test_batch_input_by_url() -> None:
    resp = one_row(BIN, BATCH_IN[2])
    assert resp["api_surface"] == "responses"
    assert resp["last_user_text"] == "Classify the sentiment of: 'I loved the ending.'"
    assert resp["max_output_tokens"] == 20
    (emb,) = parse(BIN, BATCH_IN[3])
    assert isinstance(emb, Rejected) and emb.kind == "skipped" and emb.reason == "not_a_model_call"
    cmp_ = one_row(BIN, BATCH_IN[4])
    assert cmp_["api_surface"] == "completions"
    assert cmp_["last_user_text"] == "Once upon a time"
    assert cmp_["logprobs"] is True and cmp_["top_logprobs"] == 5  # legacy int logprobs
    assert cmp_["n_requested"] == 4
    chat_str = one_row(BIN, BATCH_IN[5])  # body given as a JSON string
    assert chat_str["n_requested"] == 2 and chat_str["last_user_text"] == "Say hi"
    (mod,) = parse(BIN, BATCH_IN[6])
    assert isinstance(mod, Rejected) and mod.kind == "skipped"


def test_url_kind() -> None:
    assert url_kind("/v1/chat/completions") == "openai_chat"
    assert url_kind("https://api.openai.com/v1/chat/completions?x=1") == "openai_chat"
    assert url_kind("/chat/completions") == "openai_chat"  # Azure batch
    assert url_kind("/v1/responses") == "openai_responses"
    assert url_kind("/v1/completions") == "openai_completions"
    assert url_kind("/v1/images/generations") == "skip"
    assert url_kind("/v1/something") is None


def test_batch_input_rejects() -> None:
    (out,) = parse(BIN, {"custom_id": "x", "url": 5, "body": {}})
    assert isinstance(out, Rejected) and out.reason == "wrong_type"
    (out,) = parse(BIN, {"custom_id": "x", "url": "/v1/chat/completions", "body": [1]})
    assert isinstance(out, Rejected) and out.reason == "wrong_type"
    (out,) = parse(BIN, {"custom_id": "x", "url": "/v1/unknown", "body": {"foo": 1}})
    assert isinstance(out, Rejected) and out.reason == "unsupported_endpoint"


def test_batch_output_success_line() -> None:
    row = one_row(BOUT, BATCH_OUT[0])
    assert row["batch_custom_id"] == "req-000001"
    assert row["request_id"] == "req_5e3c1a9b7d2f4e6a8c0b1d3f5e7a9c2b"
    assert row["record_id"] == "openai_batch_output:req_5e3c1a9b7d2f4e6a8c0b1d3f5e7a9c2b"
    assert row["status_code"] == 200 and row["status"] == "success"
    assert row["event_time"] == datetime(2025, 6, 2, 16, 0, 1, tzinfo=UTC)  # response.body.created
    assert row["response_id"] == "chatcmpl-Bx9b00aa11bb22cc33dd44ee"
    assert row["model_served"] == "gpt-4o-mini-2024-07-18"
    assert row["response_text"].startswith("def reverse(head):")
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (34, 402, 436)
    assert row["api_surface"] == "chat.completions" and row["provider"] == "openai"
    assert row["body_status"] == "absent"


def test_batch_output_error_lines() -> None:
    http_error = one_row(BOUT, BATCH_OUT[1])
    assert http_error["status"] == "error" and http_error["status_code"] == 400
    assert http_error["error_code"] == "invalid_request_error"
    assert http_error["request_id"] == "req_9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"
    expired = one_row(BOUT, BATCH_OUT[2])
    assert expired["status"] == "error" and expired["error_code"] == "batch_expired"
    assert expired["batch_custom_id"] == "req-000009"
    responses = one_row(BOUT, BATCH_OUT[3])
    assert responses["api_surface"] == "responses" and responses["response_text"] == "positive"
    assert responses["event_time"] == datetime(2025, 6, 2, 16, 1, 40, tzinfo=UTC)
    (emb,) = parse(BOUT, BATCH_OUT[4])
    assert isinstance(emb, Rejected) and emb.kind == "skipped"


def test_batch_output_rejects() -> None:
    (out,) = parse(BOUT, {"custom_id": "x", "response": None, "error": None})
    assert isinstance(out, Rejected) and out.reason == "missing_field"
    (out,) = parse(BOUT, {"custom_id": "x", "response": "oops"})
    assert isinstance(out, Rejected) and out.reason == "wrong_type"
    (out,) = parse(BOUT, {"custom_id": "x", "response": {"status_code": 200, "body": [1]}})
    assert isinstance(out, Rejected) and out.reason == "wrong_type"
    row = one_row(BOUT, {"custom_id": "x", "response": {"status_code": 503}})
    assert row["status"] == "error" and row["error_code"] == "http_503"
    row = one_row(BOUT, {"custom_id": "x", "response": {"status_code": 10**12}})  # out of int32: dropped
    assert "status_code" not in row


# --------------------------------------------------------------------------------------------------
# property: parse never raises, whatever the input

_KEYS = [
    "model",
    "messages",
    "input",
    "instructions",
    "role",
    "content",
    "type",
    "text",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "logprobs",
    "top_logprobs",
    "seed",
    "tools",
    "metadata",
    "reasoning",
    "object",
    "choices",
    "message",
    "usage",
    "output",
    "custom_id",
    "url",
    "body",
    "response",
    "error",
    "status_code",
    "created",
    "created_at",
    "prompt",
    "conversation",
]
_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(["chat.completion", "response", "/v1/chat/completions", "/v1/responses", "user", "message"])
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
ALL_EXAMPLES = [rec for recs in OWN.values() for rec in recs]


@_SETTINGS
@given(JSON | mutated(ALL_EXAMPLES))
def test_parse_never_raises(obj: Any) -> None:
    """Arbitrary JSON-like values, and real records with fields replaced by random values."""
    for reader in READERS:
        check_outcomes(reader, obj)

"""Shared body parsers (ingest/bodies.py), and detection of every example file by the registry."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractscan.ingest import bodies, registry
from extractscan.ingest.base import Rejected, SourceRef, finalize_row, parse_time
from extractscan.schema import CANONICAL_SCHEMA, COLUMN_NAMES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"


def records(path: Path) -> list[Any]:
    text = path.read_text()
    if path.suffix == ".jsonl":
        return [orjson.loads(line) for line in text.splitlines() if line.strip()]
    if path.suffix == ".csv":
        return list(csv.DictReader(text.splitlines()))
    data = json.loads(text)
    return data if isinstance(data, list) else [data]


# --------------------------------------------------------------------------------------------------
# Registry: every example record is detected by the right reader

# Fixture files of the Bedrock, OpenAI, Anthropic and envelope formats -> the reader that must claim them.
EXPECTED = {
    "bedrock_invocation_log.jsonl": "bedrock_invocation",
    "bedrock_extra.jsonl": "bedrock_invocation",
    "bedrock_cloudwatch_subscription.json": "bedrock_cloudwatch",
    "bedrock_cloudwatch_mixed.json": "bedrock_cloudwatch",
    "bedrock_cloudwatch_control.json": "bedrock_cloudwatch",
    "openai_chat_completions_request.jsonl": "openai_chat",
    "openai_chat_completions_response.jsonl": "openai_chat",
    "openai_chat_extra.jsonl": "openai_chat",
    "openai_responses_request.jsonl": "openai_responses",
    "openai_responses_response.jsonl": "openai_responses",
    "openai_responses_extra.jsonl": "openai_responses",
    "openai_batch_input.jsonl": "openai_batch_input",
    "openai_batch_input_extra.jsonl": "openai_batch_input",
    "openai_batch_output.jsonl": "openai_batch_output",
    "openai_batch_output_extra.jsonl": "openai_batch_output",
    "anthropic_messages_request.jsonl": "anthropic_messages",
    "anthropic_messages_response.jsonl": "anthropic_messages",
    "anthropic_messages_extra.jsonl": "anthropic_messages",
    "anthropic_batch_results.jsonl": "anthropic_batch",
    "anthropic_batch_extra.jsonl": "anthropic_batch",
    "envelope.jsonl": "envelope",
}
OURS = set(EXPECTED.values())


def test_registry_picks_the_right_reader_for_every_fixture_line() -> None:
    assert set(registry.readers()) >= OURS
    for name in EXPECTED:
        assert (FIXTURES / name).exists(), name
    for path in sorted(FIXTURES.iterdir()):
        if path.suffix not in (".jsonl", ".json", ".csv"):
            continue
        for i, rec in enumerate(records(path), 1):
            reader = registry.sniff(rec)
            got = reader.name if reader else None
            if path.name in EXPECTED:
                assert got == EXPECTED[path.name], f"{path.name}:{i} sniffed as {got}"
            else:  # another team's format: none of these readers may claim it
                assert got not in OURS, f"{path.name}:{i} sniffed as {got}"


# --------------------------------------------------------------------------------------------------
# content_text / messages


def test_content_text_shapes() -> None:
    pt: set[str] = set()
    assert bodies.content_text("plain", pt) == "plain"
    assert bodies.content_text(None, pt) == ""
    assert bodies.content_text([{"type": "text", "text": "a"}, {"type": "input_text", "text": "b"}], pt) == "a\nb"
    assert bodies.content_text([{"type": "image_url", "image_url": {"url": "x"}}], pt) == "[image]"
    assert bodies.content_text([{"type": "tool_result", "content": [{"type": "text", "text": "r"}]}], pt) == "r"
    assert bodies.content_text([{"type": "thinking", "thinking": {"odd": 1}}], pt) == ""
    assert bodies.content_text([{"type": "redacted_thinking", "data": "x"}], pt) == ""
    assert pt == {"image", "tool_result", "thinking"}


def test_content_text_converse_blocks() -> None:
    pt: set[str] = set()
    blocks = [
        {"text": "hello"},
        {"cachePoint": {"type": "default"}},  # a cache marker is not content
        {"guardContent": {"text": {"text": "guarded"}}},
        {"reasoningContent": {"reasoningText": {"text": "hmm"}}},
        {"toolUse": {"name": "t"}},
        {"document": {"name": "d"}},
    ]
    assert bodies.content_text(blocks, pt) == "hello\nguarded\n[document]"
    assert pt == {"thinking", "tool_use", "document"}


def test_tags_values_are_strings() -> None:
    assert bodies.tags({"a": "x", "b": 2, "c": True, "d": {"z": 1, "y": [1]}, "e": None}) == [
        {"key": "a", "value": "x"},
        {"key": "b", "value": "2"},
        {"key": "c", "value": "true"},
        {"key": "d", "value": '{"y":[1],"z":1}'},
        {"key": "e", "value": ""},
    ]
    assert bodies.tags({}) is None and bodies.tags(["a"]) is None


# --------------------------------------------------------------------------------------------------
# request kinds and parsers


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({"model": "m", "messages": [{"role": "user", "content": "x"}]}, "openai_chat"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, "openai_chat"),
        ({"model": "m", "max_tokens": 5, "system": "s", "messages": []}, "anthropic"),
        ({"max_tokens": 5, "messages": [], "metadata": {"user_id": "u"}}, "anthropic"),
        ({"messages": [], "metadata": {"user_id": "u", "app": "x"}}, "openai_chat"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "text", "text": "x"}, {"type": "image", "source": {}}],
                    }
                ]
            },
            "anthropic",
        ),
        ({"messages": [], "tools": [{"name": "t", "input_schema": {}}]}, "anthropic"),
        ({"messages": [], "tools": [{"type": "function", "function": {}}]}, "openai_chat"),
        ({"messages": [{"role": "user", "content": [{"text": "x"}]}]}, "converse"),
        ({"messages": [{"role": "user", "content": [{"text": "x"}]}], "system": [{"text": "s"}]}, "converse"),
        ({"messages": [], "inferenceConfig": {}}, "converse"),
        ({"model": "m", "input": "x"}, "openai_responses"),
        ({"contents": []}, "gemini"),
        ({"prompt": "x"}, "openai_completions"),
        ({"foo": 1}, None),
        ("not a body", None),
    ],
)
def test_request_kind(body: Any, kind: str | None) -> None:
    assert bodies.request_kind(body) == kind


def test_openai_chat_request_params() -> None:
    row = bodies.request_body(
        {
            "model": "m",
            "messages": [{"role": "user", "content": "q"}],
            "max_completion_tokens": None,
            "max_tokens": 9,
            "n": 2**40,
            "top_logprobs": "3",
            "safety_identifier": "sid",
            "user": "u",
        }
    )
    assert row["max_output_tokens"] == 9  # a null max_completion_tokens does not hide max_tokens
    assert "n_requested" not in row  # beyond int32: dropped rather than failing the Arrow batch
    assert row["top_logprobs"] == 3
    assert row["end_user_id"] == "sid"


def test_responses_request_conversation_object() -> None:
    row = bodies.request_body({"model": "m", "input": "x", "conversation": {"id": "conv_1"}})
    assert row["session_id"] == "conv_1"
    assert bodies.request_body({"model": "m", "input": "x", "conversation": "conv_2"})["session_id"] == "conv_2"


def test_legacy_completions_logprobs_int() -> None:
    row = bodies.request_body({"model": "m", "prompt": ["a", "b"], "logprobs": 3})
    assert row["api_surface"] == "completions"
    assert row["logprobs"] is True and row["top_logprobs"] == 3
    assert row["messages"] == [{"role": "user", "text": "a\nb"}]


def test_converse_and_nova_inference_config() -> None:
    conv = bodies.request_body(
        {
            "messages": [{"role": "user", "content": [{"text": "x"}]}],
            "inferenceConfig": {"maxTokens": 10, "topP": 0.5},
            "additionalModelRequestFields": {
                "top_k": 7,
                "thinking": {"type": "enabled", "budget_tokens": 64},
            },
        }
    )
    assert (conv["max_output_tokens"], conv["top_p"], conv["top_k"], conv["thinking_budget_tokens"]) == (
        10,
        0.5,
        7,
        64,
    )
    nova = bodies.request_body(
        {
            "schemaVersion": "messages-v1",
            "messages": [{"role": "user", "content": [{"text": "x"}]}],
            "inferenceConfig": {"max_new_tokens": 20, "top_p": 0.9, "top_k": 4},
        }
    )
    assert (nova["max_output_tokens"], nova["top_p"], nova["top_k"]) == (20, 0.9, 4)


def test_anthropic_markers() -> None:
    assert not bodies.anthropic_markers({"model": "m", "max_tokens": 1, "messages": []})
    assert bodies.anthropic_markers({"messages": [], "stop_sequences": []})
    assert not bodies.anthropic_markers({"messages": [], "system": [{"text": "converse style"}]})
    assert not bodies.anthropic_markers("x")


# --------------------------------------------------------------------------------------------------
# response bodies


def test_response_status() -> None:
    ok = bodies.response_body({"object": "chat.completion", "choices": [{"message": {"content": "a"}}]})
    assert ok["status"] == "success" and ok["response_text"] == "a"
    err = bodies.response_body({"error": {"type": "invalid_request_error", "message": "x"}})
    assert err == {"status": "error", "error_code": "invalid_request_error"}
    anth = bodies.response_body({"type": "error", "error": {"type": "overloaded_error"}, "request_id": "r"})
    assert anth["status"] == "error" and anth["request_id"] == "r"
    assert bodies.response_body({"foo": 1}) == {}
    assert bodies.response_body("nope") == {}


def test_responses_failed_keeps_id_and_pending_has_no_status() -> None:
    failed = bodies.response_body(
        {
            "id": "resp_1",
            "object": "response",
            "status": "failed",
            "error": {"code": "server_error"},
            "output": [],
        }
    )
    assert failed["status"] == "error" and failed["error_code"] == "server_error"
    assert failed["response_id"] == "resp_1"
    queued = bodies.response_body({"id": "resp_2", "object": "response", "status": "queued", "output": []})
    assert "status" not in queued


def test_responses_output_of_wrong_type_does_not_raise() -> None:
    assert bodies.response_body({"object": "response", "output": 5})["response_text"] == ""


def test_anthropic_total_tokens_within_int64() -> None:
    row = bodies.response_body({"type": "message", "content": [], "usage": {"input_tokens": 2**62, "output_tokens": 2**62}})
    assert "total_tokens" not in row
    assert bodies.token_sum(1, 2) == 3 and bodies.token_sum(None, 2) is None


def test_converse_cache_usage() -> None:
    row = bodies.response_body(
        {
            "output": {"message": {"content": [{"text": "x"}]}},
            "usage": {
                "inputTokens": 5,
                "outputTokens": 1,
                "cacheReadInputTokens": 3,
                "cacheWriteInputTokens": 2,
            },
        }
    )
    assert (row["cache_read_tokens"], row["cache_write_tokens"]) == (3, 2)


def test_response_time_and_surface() -> None:
    assert bodies.response_time({"created": 1748873400}) == (datetime(2025, 6, 2, 14, 10, tzinfo=UTC), None)
    _, end = bodies.response_time({"created_at": 1748873400, "completed_at": 1748873460})
    assert end == datetime(2025, 6, 2, 14, 11, tzinfo=UTC)
    assert bodies.response_time({"type": "message"}) == (None, None)
    assert bodies.response_surface({"object": "response"}) == ("openai", "responses")
    assert bodies.response_surface({"type": "message", "content": []}) == ("anthropic", "messages")
    assert bodies.response_surface({"candidates": []}) == ("google", "generate_content")
    assert bodies.response_surface(None) == (None, None)


def test_as_int32() -> None:
    assert bodies.as_int32("12") == 12
    assert bodies.as_int32(2**31) is None and bodies.as_int32(-(2**31)) == -(2**31)
    assert bodies.as_int32(True) is None


def test_safe_outcomes() -> None:
    def boom() -> list[Any]:
        raise KeyError("x")

    (out,) = bodies.safe_outcomes(boom)
    assert isinstance(out, Rejected) and out.reason == "parse_error" and "KeyError" in out.message

    def deep() -> list[Any]:
        raise RecursionError

    (out,) = bodies.safe_outcomes(deep)
    assert isinstance(out, Rejected) and out.reason == "too_deep"


def test_parse_time_offset_overflow_is_none() -> None:
    # base.parse_time used to raise OverflowError converting these to UTC
    assert parse_time("0001-01-01T00:00:00+01:00") is None
    assert parse_time("9999-12-31T23:59:59-01:00") is None
    assert parse_time("2025-06-02T16:07:31+02:00") == datetime(2025, 6, 2, 14, 7, 31, tzinfo=UTC)


# --------------------------------------------------------------------------------------------------
# property: body parsers never raise and always give rows that fit the schema

_KEYS = [
    "model",
    "messages",
    "input",
    "instructions",
    "system",
    "role",
    "content",
    "type",
    "text",
    "parts",
    "contents",
    "inferenceConfig",
    "generationConfig",
    "max_tokens",
    "n",
    "top_k",
    "thinking",
    "tools",
    "metadata",
    "choices",
    "message",
    "output",
    "usage",
    "candidates",
    "error",
    "object",
    "toolResult",
    "prompt",
]
_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(["message", "response", "text", "tool_result", "user", "assistant", "image"])
)
JSON = st.recursive(
    _LEAF,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=6), c, max_size=5),
    max_leaves=12,
)
KINDS = st.sampled_from([None, "openai_chat", "openai_responses", "anthropic", "converse", "gemini", "openai_completions"])


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON, JSON, KINDS)
def test_bodies_never_raise(req: Any, resp: Any, kind: str | None) -> None:
    row = bodies.merge(bodies.request_body(req, kind), bodies.response_body(resp))
    assert set(row) <= set(COLUMN_NAMES)
    bodies.response_time(resp)
    bodies.response_surface(resp)
    bodies.anthropic_markers(req)
    out = finalize_row(
        row,
        source_format="t",
        ref=SourceRef("f", 1),
        raw_digest="d",
        max_prompt_chars=100,
        max_response_chars=100,
    )
    pa.Table.from_pylist([out], schema=CANONICAL_SCHEMA)

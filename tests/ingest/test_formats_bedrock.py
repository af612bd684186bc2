"""Bedrock readers: bedrock_invocation (S3 records) and bedrock_cloudwatch (subscription envelopes)."""

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

from extractscan.ingest.base import Rejected, SourceRef, finalize_row
from extractscan.ingest.formats.bedrock import BedrockCloudWatchReader, BedrockInvocationReader, vendor
from extractscan.schema import CANONICAL_SCHEMA, COLUMN_NAMES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
REF = SourceRef("bedrock.jsonl", 1)
INV = BedrockInvocationReader()
CW = BedrockCloudWatchReader()


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
    """parse never raises, yields rows of canonical columns or Rejected, and the rows make a valid table."""
    rows = []
    for out in reader.parse(obj, REF):
        if isinstance(out, Rejected):
            assert isinstance(out.reason, str) and out.reason
            assert isinstance(out.message, str)
            assert out.kind in ("error", "skipped")
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


EXAMPLES = load("bedrock_invocation_log.jsonl")
EXTRA = load("bedrock_extra.jsonl")
CW_EXAMPLE = load("bedrock_cloudwatch_subscription.json")[0]


# --------------------------------------------------------------------------------------------------
# sniff


def test_sniff_own_examples() -> None:
    for rec in EXAMPLES + EXTRA:
        assert INV.sniff(rec)
        assert not CW.sniff(rec)
    for name in (
        "bedrock_cloudwatch_subscription.json",
        "bedrock_cloudwatch_mixed.json",
        "bedrock_cloudwatch_control.json",
    ):
        for rec in load(name):
            assert CW.sniff(rec)
            assert not INV.sniff(rec)


def test_sniff_false_on_other_formats() -> None:
    for path in sorted(FIXTURES.glob("*.json*")):
        if path.name.startswith("bedrock"):
            continue
        for rec in load(path.name):
            if isinstance(rec, dict):
                assert not INV.sniff(rec), path.name
                assert not CW.sniff(rec), path.name


def test_sniff_never_raises_on_odd_values() -> None:
    for obj in ({}, {"schemaType": None}, {"messageType": 1}, {"message": 5, "eventId": "x"}):
        INV.sniff(obj)
        CW.sniff(obj)


# --------------------------------------------------------------------------------------------------
# bedrock_invocation mapping


def test_converse_record_mapping() -> None:
    row = one_row(INV, EXAMPLES[0])
    assert row["record_id"] == "bedrock_invocation:5f0c2a9e-8b1d-4c3e-9a77-1e2f3d4c5b6a"
    assert row["request_id"] == "5f0c2a9e-8b1d-4c3e-9a77-1e2f3d4c5b6a"
    assert row["source_format"] == "bedrock_invocation"
    assert row["event_time"] == datetime(2025, 6, 2, 14, 7, 31, tzinfo=UTC)
    assert row["account_id"] == "210987654321"
    assert row["principal_id"] == "arn:aws:sts::210987654321:assumed-role/app-inference-role/worker-7"
    assert row["provider"] == "aws-bedrock"
    assert row["api_surface"] == "converse"
    assert row["model_requested"] == "us.anthropic.claude-3-5-haiku-20241022-v1:0"
    assert row["tags"] == [{"key": "tenant", "value": "acme-labs"}, {"key": "job", "value": "batch-eval-3"}]
    assert row["system_text"] == "You are a careful math tutor."
    assert row["messages"] == [
        {
            "role": "user",
            "text": "Explain step by step how you would solve: 17 * 23. Show your full reasoning.",
        }
    ]
    assert row["last_user_text"].startswith("Explain step by step")
    assert row["max_output_tokens"] == 1024
    assert row["temperature"] == 1.0
    assert row["top_p"] == 0.95
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (38, 41, 79)
    assert (row["cache_read_tokens"], row["cache_write_tokens"]) == (0, 0)
    assert row["response_text"].startswith("Step 1: 17 * 20 = 340.")
    assert row["finish_reason"] == "end_turn"
    assert row["latency_ms"] == 812.0
    assert row["status"] == "success"
    assert row["body_status"] == "inline"


def test_invoke_model_anthropic_body() -> None:
    row = one_row(INV, EXAMPLES[1])
    assert row["api_surface"] == "invoke_model"
    assert row["provider"] == "aws-bedrock"
    assert row["principal_id"] == "arn:aws:iam::210987654321:user/svc-distill"
    assert row["system_text"] == "Answer as an expert. Think out loud."
    assert row["last_user_text"] == "Translate to French and explain each grammar choice: 'The cat sat on the mat.'"
    assert row["max_output_tokens"] == 2048
    assert row["model_served"] == "claude-3-haiku-20240307"
    assert row["response_id"] == "msg_bdrk_01AbCdEfGhIjKlMnOpQrStUv"
    assert row["response_text"] == "Le chat s'est assis sur le tapis. ..."
    assert (row["input_tokens"], row["output_tokens"]) == (31, 212)
    assert row["status"] == "success"


def test_offloaded_input_body() -> None:
    row = one_row(INV, EXAMPLES[2])
    assert row["body_status"] == "offloaded"
    assert row["body_uri"].startswith("s3://acme-bedrock-logs/") and row["body_uri"].endswith("_input.json.gz")
    assert "messages" not in row and "last_user_text" not in row
    assert row["input_tokens"] == 41250
    assert row["response_text"] == "Summary: ..."


def test_offloaded_output_only_keeps_prompt_inline() -> None:
    row = one_row(INV, EXTRA[5])
    assert row["body_status"] == "inline"
    assert row["body_uri"].endswith("_output.json.gz")
    assert row["last_user_text"] == "Write a very long story."
    assert row["status"] == "success"
    assert row["output_tokens"] == 7900


def test_converse_stream_tools_images_thinking() -> None:
    row = one_row(INV, EXTRA[0])
    assert row["api_surface"] == "converse"
    assert row["stream"] is True
    assert row["system_text"] == "You are a vision assistant."  # the cachePoint block adds nothing
    assert [m["role"] for m in row["messages"]] == ["user", "assistant", "user"]
    assert row["messages"][0]["text"] == "What is in this image?\n[image]"
    assert row["last_user_text"] == "a tabby cat\nNow describe it in detail."
    assert row["n_user_turns"] == 2
    assert row["part_types"] == ["image", "tool_result", "tool_use"]
    assert row["tools_count"] == 2
    assert row["thinking_budget_tokens"] == 1024
    assert row["max_output_tokens"] == 2000
    assert row["cache_read_tokens"] == 512
    assert row["response_text"] == "A tabby cat sitting."
    assert row["tags"] == [{"key": "project", "value": "vision-eval"}]


def test_error_record() -> None:
    row = one_row(INV, EXTRA[1])
    assert row["status"] == "error"
    assert row["error_code"] == "ThrottlingException"
    assert row["status_code"] == 429
    assert "response_text" not in row
    # an Anthropic model's body without any Anthropic-only marker is still read as Anthropic
    assert row["max_output_tokens"] == 100
    assert row["last_user_text"] == "hi"


def test_invoke_model_stream_chunks() -> None:
    row = one_row(INV, EXTRA[2])
    assert row["stream"] is True
    assert row["top_k"] == 50
    assert row["response_text"] == "One, two, three."
    assert row["response_id"] == "msg_bdrk_stream1"
    assert row["finish_reason"] == "end_turn"
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (12, 7, 19)
    assert row["latency_ms"] == 345.0


def test_native_titan_and_llama_bodies() -> None:
    titan = one_row(INV, EXTRA[3])
    assert titan["last_user_text"] == "Summarise the water cycle."
    assert (titan["max_output_tokens"], titan["temperature"], titan["top_p"]) == (300, 0.3, 0.9)
    assert titan["response_text"] == "Water evaporates..."
    assert titan["finish_reason"] == "FINISH"
    llama = one_row(INV, EXTRA[4])
    assert llama["last_user_text"] == "Name a prime number."
    assert llama["max_output_tokens"] == 64
    assert llama["response_text"] == "7"
    assert llama["provider"] == "aws-bedrock"
    assert llama["api_surface"] == "invoke_model"


def test_permission_check_is_skipped() -> None:
    assert INV.sniff(EXTRA[6])
    (out,) = parse(INV, EXTRA[6])
    assert out == Rejected("not_a_model_call", out.message, "skipped")


def test_rejects() -> None:
    (out,) = parse(INV, ["not", "a", "record"])
    assert isinstance(out, Rejected) and out.reason == "wrong_type"
    (out,) = parse(INV, {"schemaType": "ModelInvocationLog", "modelId": "m", "input": [1, 2]})
    assert isinstance(out, Rejected) and out.reason == "wrong_type" and "input" in out.message
    (out,) = parse(INV, {"accountId": "1"})
    assert isinstance(out, Rejected) and out.reason == "missing_field"


def test_record_without_request_id_falls_back_to_content_hash() -> None:
    rec = copy.deepcopy(EXAMPLES[0])
    del rec["requestId"]
    row = one_row(INV, rec)
    assert row["record_id"] == "sha256:" + "0" * 16


def test_coerced_scalars() -> None:
    rec = copy.deepcopy(EXAMPLES[0])
    rec["accountId"] = 210987654321
    rec["timestamp"] = "2025-06-02T16:07:31+02:00"
    rec["input"]["inputTokenCount"] = "38"
    rec["input"]["inputBodyJson"] = json.dumps(rec["input"]["inputBodyJson"])  # JSON in a string
    row = one_row(INV, rec)
    assert row["account_id"] == "210987654321"
    assert row["event_time"] == datetime(2025, 6, 2, 14, 7, 31, tzinfo=UTC)
    assert row["input_tokens"] == 38
    assert row["system_text"] == "You are a careful math tutor."


def test_vendor() -> None:
    assert vendor("us.anthropic.claude-3-5-haiku-20241022-v1:0") == "anthropic"
    assert vendor("anthropic.claude-3-haiku-20240307-v1:0") == "anthropic"
    assert vendor("arn:aws:bedrock:us-east-1:1:inference-profile/eu.meta.llama3-2-1b-instruct-v1:0") == "meta"
    assert vendor("amazon.nova-lite-v1:0") == "amazon"
    assert vendor("arn:aws:bedrock:us-east-1:1:application-inference-profile/abc123") is None
    assert vendor(None) is None


# --------------------------------------------------------------------------------------------------
# bedrock_cloudwatch


def test_cloudwatch_envelope_maps_like_s3_record() -> None:
    (out,) = parse(CW, CW_EXAMPLE)
    assert not isinstance(out, Rejected), out
    row = finalize_row(
        out,
        source_format="bedrock_cloudwatch",
        ref=REF,
        raw_digest="x",
        max_prompt_chars=100,
        max_response_chars=100,
    )
    assert row["record_id"] == "bedrock_invocation:c4d5e6f7-0819-4a2b-8c3d-4e5f60718293"
    assert row["source_format"] == "bedrock_cloudwatch"
    assert row["event_time"] == datetime(2025, 6, 2, 14, 7, 31, tzinfo=UTC)
    assert row["account_id"] == "210987654321"
    assert row["model_requested"] == "amazon.nova-lite-v1:0"
    assert row["last_user_text"] == "hello"
    assert row["response_text"] == "Hi!"
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (1, 3, 4)


def test_same_record_same_id_in_both_readers() -> None:
    inner = orjson.loads(CW_EXAMPLE["logEvents"][0]["message"])
    (direct,) = parse(INV, inner)
    (wrapped,) = parse(CW, CW_EXAMPLE)
    assert direct == wrapped


def test_cloudwatch_one_outcome_per_event() -> None:
    (env,) = load("bedrock_cloudwatch_mixed.json")
    outs = parse(CW, env)
    assert len(outs) == len(env["logEvents"]) == 4
    ok, bad, no_time, foreign = outs
    assert isinstance(ok, dict) and ok["record_id"] == "bedrock_invocation:c2000000-0000-4000-8000-000000000001"
    assert isinstance(bad, Rejected) and bad.reason == "invalid_json" and "logEvents[1]" in bad.message
    # the record has no timestamp: the log event's (ms) time is used
    assert isinstance(no_time, dict)
    assert no_time["event_time"] == datetime(2025, 6, 3, 10, 0, 2, tzinfo=UTC)
    assert isinstance(foreign, Rejected) and foreign.reason == "missing_field" and "logEvents[3]" in foreign.message


def test_cloudwatch_events_without_request_id_keep_distinct_ids() -> None:
    inner = orjson.loads(CW_EXAMPLE["logEvents"][0]["message"])
    del inner["requestId"]
    events = [
        {"id": "e1", "timestamp": 1748873251000, "message": json.dumps(inner)},
        {"id": "e2", "timestamp": 1748873252000, "message": json.dumps(inner)},
        {"timestamp": 1748873253000, "message": inner},
    ]
    outs = parse(CW, {**CW_EXAMPLE, "logEvents": events})
    ids = [o["record_id"] for o in outs]
    assert ids[:2] == ["bedrock_cloudwatch:e1", "bedrock_cloudwatch:e2"]
    assert ids[2].startswith("sha256:")


def test_cloudwatch_control_message_skipped() -> None:
    (env,) = load("bedrock_cloudwatch_control.json")
    (out,) = parse(CW, env)
    assert isinstance(out, Rejected) and out.kind == "skipped" and out.reason == "not_a_model_call"


def test_cloudwatch_bad_envelopes() -> None:
    (out,) = parse(CW, {"messageType": "DATA_MESSAGE", "logEvents": "nope"})
    assert isinstance(out, Rejected) and out.reason == "wrong_type"
    (out,) = parse(CW, {"messageType": "DATA_MESSAGE", "logEvents": []})
    assert isinstance(out, Rejected) and out.kind == "skipped"
    (out,) = parse(CW, {"messageType": "DATA_MESSAGE"})
    assert isinstance(out, Rejected) and out.reason == "missing_field"
    outs = parse(CW, {"messageType": "DATA_MESSAGE", "logEvents": [7, {"id": "1"}]})
    assert [o.reason for o in outs] == ["wrong_type", "missing_field"]


def test_cloudwatch_single_exported_event() -> None:
    event = {
        "eventId": "1",
        "logStreamName": "aws/bedrock/modelinvocations",
        "timestamp": 1748873251000,
        "message": CW_EXAMPLE["logEvents"][0]["message"],
    }
    assert CW.sniff(event)
    (out,) = parse(CW, event)
    assert isinstance(out, dict) and out["record_id"] == "bedrock_invocation:c4d5e6f7-0819-4a2b-8c3d-4e5f60718293"


# --------------------------------------------------------------------------------------------------
# property: parse never raises, whatever the input

_KEYS = [
    "schemaType",
    "timestamp",
    "accountId",
    "identity",
    "arn",
    "requestId",
    "operation",
    "modelId",
    "input",
    "output",
    "inputBodyJson",
    "outputBodyJson",
    "inputBodyS3Path",
    "inputTokenCount",
    "outputTokenCount",
    "messages",
    "role",
    "content",
    "text",
    "system",
    "inferenceConfig",
    "maxTokens",
    "requestMetadata",
    "errorCode",
    "status",
    "type",
    "message",
    "usage",
    "logEvents",
    "messageType",
    "results",
    "generation",
]
_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["Converse", "InvokeModelWithResponseStream", "2025-06-02T14:07:31Z", "ModelInvocationLog"])
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
@given(JSON | mutated(EXAMPLES + EXTRA), st.sampled_from(["bare", "cloudwatch-string", "cloudwatch-object"]))
def test_parse_never_raises(obj: Any, wrap: str) -> None:
    """Arbitrary JSON-like values and mutated real records, bare (both readers) or as the message of a
    CloudWatch log event (JSON string or object)."""
    if wrap == "bare":
        check_outcomes(INV, obj)
        check_outcomes(CW, obj)
    else:
        message = json.dumps(obj) if wrap == "cloudwatch-string" else obj
        env = {**CW_EXAMPLE, "logEvents": [{"id": "1", "timestamp": 1748873251000, "message": message}]}
        check_outcomes(CW, env)


@pytest.mark.parametrize("obj", [{"logEvents": [{"message": "[" * 5000 + "]" * 5000}], "messageType": "DATA_MESSAGE"}])
def test_deep_nesting_is_rejected_not_raised(obj: Any) -> None:
    check_outcomes(CW, obj)
